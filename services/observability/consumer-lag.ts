/**
 * Consumer lag per partition, measured when Prometheus scrapes: the end of each partition
 * against the group's committed offset. Measured from Kafka rather than from the batches a
 * consumer sees, so a consumer that has stalled (or crashed) shows a growing lag instead of
 * its last, small one.
 */
import type { Admin, Kafka } from 'kafkajs';
import { withDeadline } from '../concurrency/deadline';
import { log } from './log';
import { addLagProbe, consumerLag } from './metrics';

export interface WatchedGroup {
  groupId: string;
  topics: readonly string[];
}

/** A scrape waits at most this long for Kafka; a slower measure keeps the last values. */
const measureTimeoutMs = 3_000;

interface PartitionLag {
  group: string;
  topic: string;
  partition: string;
  lag: number;
}

async function measure(admin: Admin, { groupId, topics }: WatchedGroup): Promise<PartitionLag[]> {
  const [ends, committed] = await Promise.all([
    Promise.all(topics.map(async (topic) => ({ topic, offsets: await admin.fetchTopicOffsets(topic) }))),
    admin.fetchOffsets({ groupId, topics: [...topics] }),
  ]);
  return ends.flatMap(({ topic, offsets }) =>
    offsets.map(({ partition, high, low }) => {
      const offset = committed
        .find((c) => c.topic === topic)
        ?.partitions.find((p) => p.partition === partition)?.offset;
      // A group that never committed a partition has everything still retained in it to read.
      const from = offset === undefined || offset === '-1' ? BigInt(low) : BigInt(offset);
      return { group: groupId, topic, partition: String(partition), lag: Number(BigInt(high) - from) };
    }),
  );
}

/** Exports the lag of these groups until the returned stop() is called. */
export async function watchConsumerLag(
  kafka: Kafka,
  groups: readonly WatchedGroup[],
): Promise<{ stop(): Promise<void> }> {
  const admin = kafka.admin();
  await admin.connect();
  const remove = addLagProbe(async () => {
    try {
      const rows = (
        await withDeadline(
          Promise.all(groups.map((g) => measure(admin, g))),
          measureTimeoutMs,
          `no answer from Kafka within ${measureTimeoutMs} ms`,
        )
      ).flat();
      for (const { lag, ...labels } of rows) consumerLag.set(labels, lag);
    } catch (error) {
      log.warn({ err: error, groups: groups.map((g) => g.groupId) }, 'measuring consumer lag failed');
    }
  });
  return {
    async stop() {
      remove();
      await admin.disconnect();
    },
  };
}

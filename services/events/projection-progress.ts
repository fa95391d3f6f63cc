/**
 * How far a projection of the log has got, read from its consumer group's committed offsets. The
 * store projector commits only what is durable in the store, and the catalog indexer only what
 * Elasticsearch shows, so "committed ≥ log end" means "in the projection". The projector also
 * commits its store's checkpoint each time it joins the group, so a commit lost to a broker
 * restart does not leave the group behind a store that has everything.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import { logEnd } from './store-projector';
import type { EventStream, TopicSet } from './topics';

export async function projectionHasApplied(
  admin: Admin,
  groupId: string,
  positions: Awaited<ReturnType<typeof logEnd>>,
): Promise<boolean> {
  const topicNames = [...new Set(positions.map((p) => p.topic))];
  const committed = await admin.fetchOffsets({ groupId, topics: topicNames });
  return positions.every((end) => {
    const done = committed
      .find((c) => c.topic === end.topic)
      ?.partitions.find((p) => p.partition === end.partition);
    return end.high === 0n || BigInt(done?.offset ?? '-1') >= end.high;
  });
}

/** Waits until the group's projection holds every event the streams held when the wait began. */
export async function waitForProjection(
  admin: Admin,
  groupId: string,
  topics: TopicSet,
  streams: readonly EventStream[],
  onWait: () => void = () => {},
  pollMs = 100,
  /** Ends the wait (with an AbortError) when aborted. */
  signal?: AbortSignal,
): Promise<void> {
  const end = await logEnd(admin, topics, streams);
  while (!(await projectionHasApplied(admin, groupId, end))) {
    onWait();
    await sleep(pollMs, undefined, { signal });
  }
}

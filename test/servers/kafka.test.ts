import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { readSettings } from '../../services/config/environment';
import { kafkaClient } from '../../services/events/kafka';

test('kafkajs produces, consumes in a group and commits offsets against the real broker', async () => {
  const kafka = kafkaClient(readSettings(), 'cairn-test');
  const topic = `cairn.test.${randomUUID()}`;
  const groupId = `cairn-test-${randomUUID()}`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sent = Array.from({ length: 60 }, (_, i) => ({ key: `user-${i % 7}`, value: String(i) }));
    await producer.send({ topic, acks: -1, messages: sent });
    await producer.disconnect();

    const received: string[] = [];
    const lastSeenPerKey = new Map<string, number>();
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const value = message.value?.toString() ?? '';
            const key = message.key?.toString() ?? '';
            // One key, one partition: a user's events arrive in the order they were produced.
            assert.ok((lastSeenPerKey.get(key) ?? -1) < Number(value), `out of order for ${key}`);
            lastSeenPerKey.set(key, Number(value));
            received.push(value);
            await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
            if (received.length === sent.length) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    assert.deepEqual([...received].sort(), sent.map((m) => m.value).sort());

    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    // A partition that received nothing reports -1 (no commit).
    const total = committed.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    assert.equal(total, sent.length, 'committed offsets cover every message');
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});

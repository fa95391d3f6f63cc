import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { readSettings } from '../../services/config/environment';
import { kafkaClient } from '../../services/events/kafka';
import { waitFor } from '../support/wait';

test('server smoke (no Cairn code): kafkajs produces, consumes in a group and commits offsets against the real broker', async () => {
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
    const outOfOrder: string[] = [];
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const value = message.value?.toString() ?? '';
        const key = message.key?.toString() ?? '';
        // One key, one partition: a user's events arrive in the order they were produced.
        if ((lastSeenPerKey.get(key) ?? -1) >= Number(value)) outOfOrder.push(`${key}: ${value}`);
        lastSeenPerKey.set(key, Number(value));
        received.push(value);
        await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
      },
    });
    try {
      await waitFor(() => received.length >= sent.length, {
        what: `all ${sent.length} messages`,
        timeoutMs: 60_000,
      });
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(outOfOrder, [], 'per-key order');
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

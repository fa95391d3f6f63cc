/**
 * A supervised consumer whose first launch fails on a Kafka error tries again instead of failing
 * its process: here the first subscribe names a topic the broker does not have yet, the way a
 * busy broker's coordinator or a new topic's leader can lag behind a process that just started.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readSettings } from '../../services/config/environment';
import { SupervisedConsumer } from '../../services/events/consumer-supervisor';
import { eventProducer, kafkaClient } from '../../services/events/kafka';
import { waitFor } from '../support/wait';

test('a consumer started before its topic exists starts once the topic is there, and consumes', async () => {
  const kafka = kafkaClient(readSettings(), 'cairn-test-consumer-start');
  const topic = `start${randomUUID().slice(0, 8)}.cairn.interactions.v1`;
  const received: string[] = [];
  const consumer = new SupervisedConsumer({
    kafka,
    name: 'test consumer',
    config: { groupId: `${topic}.group`, maxWaitTimeInMs: 200 },
    begin: async (c) => {
      await c.connect();
      await c.subscribe({ topics: [topic], fromBeginning: true });
      await c.run({ eachMessage: async ({ message }) => void received.push(String(message.value)) });
    },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const started = consumer.start();
    await sleep(1_500);
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    await started;
    const producer = eventProducer(kafka);
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'after the start' }] });
    await producer.disconnect();
    await waitFor(() => received.length > 0, { what: 'the message', timeoutMs: 30_000 });
    assert.deepEqual(received, ['after the start']);
  } finally {
    await consumer.stop();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});

test('a consumer whose first launch fails on an error of its own fails at once', async () => {
  const kafka = kafkaClient(readSettings(), 'cairn-test-consumer-start');
  const consumer = new SupervisedConsumer({
    kafka,
    name: 'test consumer',
    config: { groupId: `own${randomUUID().slice(0, 8)}` },
    begin: async () => {
      throw new Error('the owner cannot set up');
    },
  });
  const began = Date.now();
  await assert.rejects(consumer.start(), /the owner cannot set up/);
  assert.ok(Date.now() - began < 5_000);
});

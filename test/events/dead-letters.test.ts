import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { scratchNamespace } from '../../services/config/scratch-namespace';
import { eventProducer, kafkaClient } from '../../services/events/kafka';
import { logEnd, StoreProjector } from '../../services/events/store-projector';
import { type EventStream, eventStreams, type TopicSet } from '../../services/events/topics';
import { InteractionStore } from '../../services/store/interaction-store';
import { waitFor } from '../support/wait';
import { itemCreated, userCreated } from './entity-events';

const now = Date.now();
const valid = {
  user: userCreated,
  item: itemCreated,
  click: (n: number) => ({
    eventId: `c-${n}`,
    type: 'click',
    userId: 'u1',
    itemId: 'i1',
    occurredAt: now,
    surface: 'homepage',
  }),
};
const click = valid.click(0);

/** Each malformed message, the stream it is sent on, and what its dead-letter reason must say. */
const malformed: { stream: EventStream; value: Buffer | string | null; reason: RegExp }[] = [
  { stream: 'interactions', value: '{"eventId": "x", ', reason: /invalid JSON/ },
  { stream: 'interactions', value: 'not json at all', reason: /invalid JSON/ },
  { stream: 'interactions', value: Buffer.from([0xc3, 0x28, 0xff]), reason: /not valid UTF-8/ },
  { stream: 'interactions', value: null, reason: /empty message/ },
  { stream: 'interactions', value: '[1,2,3]', reason: /expected a JSON object, got an array/ },
  { stream: 'interactions', value: '42', reason: /expected a JSON object, got number/ },
  {
    stream: 'interactions',
    value: JSON.stringify({ ...click, eventId: 'm1', type: 'teleport' }),
    reason: /unknown event type/,
  },
  {
    stream: 'interactions',
    value: JSON.stringify({ ...click, eventId: 'm2', userId: undefined }),
    reason: /userId/,
  },
  {
    stream: 'interactions',
    value: JSON.stringify({ ...click, eventId: 'm3', itemId: 17 }),
    reason: /itemId/,
  },
  {
    stream: 'interactions',
    value: JSON.stringify({ ...click, eventId: 'm4', type: 'rating', value: 11 }),
    reason: /value/,
  },
  {
    stream: 'interactions',
    value: JSON.stringify({ ...click, eventId: 'm5', type: 'rating' }),
    reason: /value/,
  },
  {
    stream: 'interactions',
    value: JSON.stringify({ ...click, eventId: 'm6', type: 'watch_completion', value: 1.5 }),
    reason: /value/,
  },
  {
    stream: 'interactions',
    value: JSON.stringify({ ...click, eventId: 'm7', occurredAt: now + 7 * 86_400_000 }),
    reason: /in the future/,
  },
  {
    stream: 'interactions',
    value: JSON.stringify({ ...click, eventId: 'm8', occurredAt: Math.floor(now / 1000) }),
    reason: /seconds instead of ms/,
  },
  {
    stream: 'interactions',
    value: JSON.stringify({ ...click, eventId: 'm9', occurredAt: Number.NaN }),
    reason: /occurredAt/,
  },
  {
    stream: 'interactions',
    value: JSON.stringify({ ...click, eventId: 'm10', surface: 'billboard' }),
    reason: /surface/,
  },
  {
    stream: 'interactions',
    value: JSON.stringify({ ...click, eventId: 'm11', userId: 'has space' }),
    reason: /userId/,
  },
  {
    stream: 'interactions',
    value: JSON.stringify({ ...click, eventId: 'm12', itemId: 'ghost' }),
    reason: /unknown item ghost/,
  },
  {
    stream: 'interactions',
    value: JSON.stringify({ ...click, eventId: 'm13', userId: 'nobody' }),
    reason: /unknown user nobody/,
  },
  {
    stream: 'interactions',
    value: JSON.stringify({ ...click, eventId: 'm14', debug: true }),
    reason: /Unrecognized key/,
  },
  { stream: 'interactions', value: JSON.stringify({ ...click, eventId: '' }), reason: /eventId/ },
  {
    stream: 'catalog',
    value: JSON.stringify({ ...valid.item('i9'), eventId: 'm15', year: 'nineteen' }),
    reason: /year/,
  },
  {
    stream: 'catalog',
    value: JSON.stringify({ eventId: 'm16', type: 'item_retired', itemId: 'ghost', occurredAt: now }),
    reason: /unknown item ghost/,
  },
  {
    stream: 'catalog',
    value: JSON.stringify({ ...valid.item('i1'), eventId: 'm17' }),
    reason: /already exists/,
  },
  {
    stream: 'users',
    value: JSON.stringify({ ...valid.user('u9'), eventId: 'm18', demographics: { age: -4 } }),
    reason: /age/,
  },
  {
    stream: 'impressions',
    value: JSON.stringify({
      slateId: 'm19',
      userId: 'u1',
      surface: 'homepage',
      servedAt: now,
      variant: 'a',
      modelVersions: {},
      items: [{ itemId: 'i1', position: 0, score: 1, propensity: 0 }],
    }),
    reason: /propensity/,
  },
  {
    stream: 'impressions',
    value: JSON.stringify({
      slateId: 'm20',
      userId: 'u1',
      surface: 'homepage',
      servedAt: now,
      variant: 'a',
      modelVersions: {},
      items: [
        { itemId: 'i1', position: 0, score: 1, propensity: 0.5 },
        { itemId: 'i2', position: 0, score: 1, propensity: 0.5 },
      ],
    }),
    reason: /repeats a position/,
  },
];

/**
 * Every message of a topic up to the end offsets it had when called, each partition read to its
 * high watermark: nothing is dropped or collapsed, so a duplicate shows up as a second message.
 */
async function readToEnd(kafka: Kafka, topic: string, groupId: string): Promise<KafkaMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const remaining = new Map(
      (await admin.fetchTopicOffsets(topic))
        .filter((p) => BigInt(p.high) > BigInt(p.low))
        .map((p) => [p.partition, BigInt(p.high)]),
    );
    const messages: KafkaMessage[] = [];
    const reader = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
    await reader.connect();
    try {
      await reader.subscribe({ topic, fromBeginning: true });
      await reader.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const end = remaining.get(partition);
          if (end === undefined || BigInt(message.offset) >= end) return;
          messages.push(message);
          if (BigInt(message.offset) + 1n === end) remaining.delete(partition);
        },
      });
      await waitFor(() => remaining.size === 0, {
        what: `${topic} read to its end offsets (partitions left: ${[...remaining.keys()]})`,
        timeoutMs: 60_000,
      });
    } finally {
      await reader.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
    return messages;
  } finally {
    await admin.disconnect();
  }
}

/** Waits until the projector has applied (and so dead-lettered) everything now on the event topics. */
async function projectedToEnd(kafka: Kafka, topics: TopicSet, projector: StoreProjector): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const end = await logEnd(admin, topics, eventStreams);
    await waitFor(() => projector.hasApplied(end), {
      what: 'the projector at the end of every event topic',
      timeoutMs: 60_000,
    });
  } finally {
    await admin.disconnect();
  }
}

const header = (message: KafkaMessage, name: string) => message.headers?.[name]?.toString();

test('malformed events go to the dead-letter topic exactly once with their reason, across a projector restart; every valid one lands', async () => {
  const settings = await scratchNamespace();
  const kafka = kafkaClient(settings, 'cairn-test');
  const producer = eventProducer(kafka);
  await producer.connect();
  const store = await InteractionStore.open(settings.storeDir);
  const projectorOptions = { kafka, store, topics: settings.topics, groupId: settings.consumerGroups.store };
  let projector = new StoreProjector(projectorOptions);
  try {
    const send = async (stream: EventStream, key: string, value: Buffer | string | null) => {
      const [sent] = await producer.send({
        topic: settings.topics[stream],
        acks: -1,
        messages: [{ key, value }],
      });
      return { topic: sent.topicName, partition: String(sent.partition), offset: sent.baseOffset ?? '' };
    };
    await send('users', 'u1', JSON.stringify(valid.user('u1')));
    for (const id of ['i1', 'i2']) await send('catalog', id, JSON.stringify(valid.item(id)));
    await projector.start();
    // Malformed messages interleaved with valid clicks on the same partition (same key).
    const sources: { topic: string; partition: string; offset: string }[] = [];
    for (const [n, bad] of malformed.entries()) {
      await send('interactions', 'u1', JSON.stringify(valid.click(n)));
      sources.push(await send(bad.stream, `bad-${n}`, bad.value));
    }
    await send('interactions', 'u1', JSON.stringify(valid.click(malformed.length)));
    await projectedToEnd(kafka, settings.topics, projector);

    // A restarted projector resumes after what it already dead-lettered and sends none of it again.
    await projector.stop();
    projector = new StoreProjector(projectorOptions);
    await projector.start();
    await send('interactions', 'u1', JSON.stringify(valid.click(malformed.length + 1)));
    await projectedToEnd(kafka, settings.topics, projector);
    await projector.stop();

    const letters = await readToEnd(kafka, settings.topics.deadLetter, `${settings.prefix}dlq-reader`);
    const byKey = new Map<string, KafkaMessage[]>();
    for (const letter of letters) {
      const key = letter.key?.toString() ?? '(no key)';
      byKey.set(key, [...(byKey.get(key) ?? []), letter]);
    }
    const unexpected = [...byKey.keys()].filter((k) => !/^bad-\d+$/.test(k));
    assert.deepEqual(unexpected, [], 'only malformed events are dead-lettered');
    for (const [n, bad] of malformed.entries()) {
      const copies = byKey.get(`bad-${n}`) ?? [];
      assert.equal(
        copies.length,
        1,
        `malformed #${n} is dead-lettered exactly once (found ${copies.length})`,
      );
      const [letter] = copies;
      assert.match(header(letter, 'cairn.reason') ?? '', bad.reason, `reason of malformed #${n}`);
      assert.deepEqual(
        {
          topic: header(letter, 'cairn.source.topic'),
          partition: header(letter, 'cairn.source.partition'),
          offset: header(letter, 'cairn.source.offset'),
        },
        sources[n],
        `malformed #${n} names where it was read`,
      );
      const original = bad.value === null ? null : Buffer.from(bad.value);
      assert.deepEqual(letter.value, original, 'the original bytes are kept');
    }
    assert.deepEqual(store.counts(), {
      interactions: malformed.length + 2,
      impressions: 0,
      items: 2,
      users: 1,
    });
  } finally {
    await projector.stop();
    await producer.disconnect();
    await store.close();
    await settings.cleanup();
  }
});

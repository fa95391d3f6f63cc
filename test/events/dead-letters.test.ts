import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { scratchNamespace } from '../../services/config/scratch-namespace';
import { eventProducer, kafkaClient } from '../../services/events/kafka';
import { StoreProjector } from '../../services/events/store-projector';
import type { EventStream } from '../../services/events/topics';
import { InteractionStore } from '../../services/store/interaction-store';

const now = Date.now();
const valid = {
  user: (id: string) => ({
    eventId: `u-${id}`,
    type: 'user_created',
    userId: id,
    occurredAt: now,
    demographics: { age: 30 },
  }),
  item: (id: string) => ({
    eventId: `i-${id}`,
    type: 'item_created',
    itemId: id,
    occurredAt: now,
    title: `Item ${id}`,
    categories: ['Drama'],
    year: 1999,
  }),
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

test('malformed events go to the dead-letter topic with their reason; every valid one lands', async () => {
  const settings = await scratchNamespace();
  const kafka = kafkaClient(settings, 'cairn-test');
  const producer = eventProducer(kafka);
  await producer.connect();
  const store = await InteractionStore.open(settings.storeDir);
  const projector = new StoreProjector({
    kafka,
    store,
    topics: settings.topics,
    groupId: settings.consumerGroups.store,
  });
  try {
    const send = (stream: EventStream, key: string, value: Buffer | string | null) =>
      producer.send({ topic: settings.topics[stream], acks: -1, messages: [{ key, value }] });
    await send('users', 'u1', JSON.stringify(valid.user('u1')));
    for (const id of ['i1', 'i2']) await send('catalog', id, JSON.stringify(valid.item(id)));
    await projector.start();
    // Malformed messages interleaved with valid clicks on the same partition (same key).
    for (const [n, bad] of malformed.entries()) {
      await send('interactions', 'u1', JSON.stringify(valid.click(n)));
      await send(bad.stream, `bad-${n}`, bad.value);
    }
    await send('interactions', 'u1', JSON.stringify(valid.click(malformed.length)));

    const deadLetters = new Map<string, { reason: string; value: Buffer | null; source: string }>();
    const reader = kafka.consumer({ groupId: `${settings.prefix}dlq-reader` });
    await reader.connect();
    await reader.subscribe({ topic: settings.topics.deadLetter, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        deadLetters.set(message.key?.toString() ?? '', {
          reason: message.headers?.['cairn.reason']?.toString() ?? '',
          value: message.value,
          source: message.headers?.['cairn.source.topic']?.toString() ?? '',
        });
      },
    });
    for (let waited = 0; waited < 30_000 && deadLetters.size < malformed.length; waited += 100)
      await sleep(100);
    await reader.disconnect();

    assert.ok(malformed.length >= 20);
    assert.equal(deadLetters.size, malformed.length, 'every malformed event is dead-lettered exactly once');
    for (const [n, bad] of malformed.entries()) {
      const letter = deadLetters.get(`bad-${n}`);
      assert.ok(letter, `malformed #${n} is in the dead-letter topic`);
      assert.match(letter.reason, bad.reason, `reason of malformed #${n}`);
      assert.equal(letter.source, settings.topics[bad.stream]);
      const original = bad.value === null ? null : Buffer.from(bad.value);
      assert.deepEqual(letter.value, original, 'the original bytes are kept');
    }
    for (let waited = 0; waited < 10_000 && store.counts().interactions < malformed.length + 1; waited += 100)
      await sleep(100);
    assert.deepEqual(store.counts(), {
      interactions: malformed.length + 1,
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

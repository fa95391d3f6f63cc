/**
 * Every Kafka event type through the consumer's boundary (validateMessage, then the store's
 * apply): whatever the bytes, nothing throws, each message is applied, a duplicate, or rejected
 * with a reason, and no key reaches a prototype. The store written this way reopens intact.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { interactionTypes, qualityFlags, surfaces } from '../../schemas/events';
import { scratchNamespace } from '../../services/config/scratch-namespace';
import { eventProducer, kafkaClient } from '../../services/events/kafka';
import type { EventStream } from '../../services/events/topics';
import { maxEventBytes, validateMessage } from '../../services/events/validation';
import { InteractionStore } from '../../services/store/interaction-store';
import { removeTempStores, tempStore } from '../store/store-events';
import {
  assertPlainPrototypes,
  assertPrototypesUntouched,
  fuzzParameters,
  hostileKey,
  jsonObjectText,
  junk,
  objectOf,
  prototypeKeys,
  prototypeSnapshot,
} from './fuzz-settings';

const now = Date.UTC(2026, 0, 1);
const users = ['u1', 'u2', 'u3', ...prototypeKeys];
const items = ['i1', 'i2', 'i3', ...prototypeKeys];

const id = (pool: string[]) =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...pool), weight: 8 },
    { arbitrary: fc.string({ minLength: 1, maxLength: 140 }), weight: 1 },
  );
const time = fc.oneof(
  { arbitrary: fc.integer({ min: now - 1e10, max: now }), weight: 8 },
  {
    arbitrary: fc.constantFrom(0, 1_700_000_000, now + 2 * 86_400_000, Number.MAX_SAFE_INTEGER, 1.5e12 + 0.5),
    weight: 1,
  },
);
const eventId = fc.oneof(fc.constantFrom('e1', 'e2', ...prototypeKeys), fc.uuid());
const categories = fc.array(
  fc.oneof(fc.constantFrom('drama', ...prototypeKeys), fc.string({ maxLength: 8 })),
  {
    maxLength: 3,
  },
);
const someOf = (fields: Record<string, fc.Arbitrary<unknown>>) => fc.record(fields, { requiredKeys: [] });

type Shape = fc.Arbitrary<Record<string, unknown>>;
const interaction = {
  eventId,
  userId: id(users),
  itemId: id(items),
  occurredAt: time,
  surface: fc.constantFrom(...surfaces, 'tv'),
};
const content = {
  title: fc.string({ maxLength: 20 }),
  categories,
  year: fc.oneof(fc.integer({ min: 1700, max: 2200 }), fc.constant(null)),
  text: fc.string({ maxLength: 40, unit: 'binary' }),
  qualityFlags: fc.array(fc.constantFrom(...qualityFlags, 'nsfw'), { maxLength: 2 }),
};
const catalogBase = { eventId, itemId: id(items), occurredAt: time };
const userBase = { eventId, userId: id(users), occurredAt: time };

/** Each stream's event types, each with the fields it takes (values mostly in range). */
const shapesOf: Record<EventStream, Shape[]> = {
  interactions: [
    fc.record(
      { ...interaction, type: fc.constantFrom(...interactionTypes, 'like'), slateId: id(['s1']) },
      {
        requiredKeys: ['eventId', 'userId', 'itemId', 'occurredAt', 'surface', 'type'],
      },
    ),
    fc.record({
      ...interaction,
      type: fc.constantFrom('rating', 'watch_completion'),
      value: fc.oneof(fc.double({ min: 0, max: 5 }), fc.constant(-1)),
    }),
  ],
  impressions: [
    fc.record({
      slateId: eventId,
      userId: id(users),
      surface: fc.constantFrom(...surfaces),
      servedAt: time,
      variant: fc.constantFrom('control', '__proto__'),
      modelVersions: fc
        .array(fc.tuple(hostileKey, fc.string({ minLength: 1, maxLength: 8 })), { maxLength: 3 })
        .map(objectOf),
      items: fc.array(
        fc.record({
          itemId: id(items),
          position: fc.nat({ max: 5 }),
          score: fc.double(),
          propensity: fc.double({ min: 0, max: 1 }),
        }),
        { maxLength: 4 },
      ),
    }),
  ],
  catalog: [
    fc.record({ ...catalogBase, type: fc.constant('item_created'), ...content }),
    fc
      .record({ ...catalogBase, type: fc.constant('item_updated') })
      .chain((base) => someOf(content).map((changes) => ({ ...base, ...changes }))),
    fc.record({ ...catalogBase, type: fc.constantFrom('item_retired', 'item_deleted') }),
    fc.record({ ...catalogBase, type: fc.constant('item_blocked'), reason: fc.string({ maxLength: 10 }) }),
  ],
  users: [
    fc.record({
      ...userBase,
      type: fc.constant('user_created'),
      demographics: fc
        .array(
          fc.tuple(
            fc.constantFrom('age', 'gender', 'country', ...prototypeKeys),
            fc.oneof(
              fc.integer({ min: -1, max: 130 }),
              fc.string({ maxLength: 3 }),
              fc.constant({ polluted: true }),
            ),
          ),
          { maxLength: 3 },
        )
        .map(objectOf),
    }),
    fc.record({ ...userBase, type: fc.constant('onboarding_interests'), categories }),
  ],
};

/** An event's JSON text, sometimes with a field dropped or broken or a hostile key added. */
function eventText(stream: EventStream): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.oneof(...shapesOf[stream]),
      fc.nat(),
      fc.constantFrom('intact', 'intact', 'intact', 'drop', 'junk', 'extra'),
      hostileKey,
      junk,
    )
    .map(([event, pick, mutation, key, value]) => {
      const entries = Object.entries(event);
      const at = pick % entries.length;
      if (mutation === 'drop') entries.splice(at, 1);
      if (mutation === 'junk') entries[at] = [entries[at][0], value];
      if (mutation === 'extra') entries.push([key, value]);
      return jsonObjectText(entries);
    });
}

/** The bytes of a message: mostly event-shaped, else any JSON, truncated text or raw bytes. */
function messageBytes(stream: EventStream): fc.Arbitrary<Buffer | null> {
  return fc.oneof(
    { arbitrary: eventText(stream).map((t) => Buffer.from(t)), weight: 10 },
    { arbitrary: junk.map((v) => Buffer.from(JSON.stringify(v) ?? '')), weight: 1 },
    {
      arbitrary: fc
        .tuple(eventText(stream), fc.nat())
        .map(([t, cut]) => Buffer.from(t.slice(0, cut % t.length))),
      weight: 1,
    },
    { arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)), weight: 1 },
    { arbitrary: fc.constant(null), weight: 1 },
  );
}

let store: InteractionStore;
const prototypes = prototypeSnapshot();
const outcomes = { applied: 0, duplicate: 0, rejected: 0 };

before(async () => {
  store = await tempStore();
});

after(async () => {
  await store.close();
  await removeTempStores();
});

for (const stream of ['users', 'catalog', 'interactions', 'impressions'] as const)
  test(`${stream}: every message is applied, a duplicate or rejected with a reason`, () => {
    fc.assert(
      fc.property(messageBytes(stream), (bytes) => {
        const validation = validateMessage(stream, bytes, now);
        if (!validation.ok) {
          assert.ok(validation.reason.length > 0);
          outcomes.rejected++;
          return;
        }
        assert.equal(validation.value.stream, stream);
        assertPlainPrototypes(validation.value.event);
        const outcome = store.apply(validation.value);
        if (outcome.kind === 'rejected') assert.ok(outcome.reason.length > 0);
        outcomes[outcome.kind]++;
      }),
      fuzzParameters(),
    );
    assertPrototypesUntouched(prototypes);
  });

test('the fuzzed store commits and reopens with the same content', async () => {
  assert.ok(outcomes.applied > 0 && outcomes.rejected > 0, JSON.stringify(outcomes));
  await store.commit({});
  const counts = store.counts();
  const checksum = await store.checksum();
  await store.close();
  store = await InteractionStore.open(store.dir);
  assert.deepEqual(store.counts(), counts);
  assert.equal(await store.checksum(), checksum);
  console.log(`fuzzed events: ${JSON.stringify(outcomes)}; store ${JSON.stringify(counts)}`);
});

test('a 10 MB event is refused by its size before it is decoded', () => {
  const huge = Buffer.from(JSON.stringify({ eventId: 'e', text: 'x'.repeat(10 * 2 ** 20) }));
  const started = process.hrtime.bigint();
  const validation = validateMessage('catalog', huge, now);
  assert.deepEqual(validation, {
    ok: false,
    reason: `event is ${huge.length} bytes, the limit is ${maxEventBytes}`,
  });
  assert.ok(process.hrtime.bigint() - started < 50_000_000n, 'the refusal did not parse the body');
  const largestValid = Buffer.from(
    JSON.stringify({
      slateId: 's',
      userId: 'u',
      surface: 'homepage',
      servedAt: now,
      variant: 'v'.repeat(64),
      modelVersions: {},
      items: Array.from({ length: 500 }, (_, i) => ({
        itemId: `${'i'.repeat(120)}${i}`,
        position: i,
        score: 0.123456789,
        propensity: 0.5,
      })),
    }),
  );
  assert.ok(largestValid.length < maxEventBytes);
  assert.equal(validateMessage('impressions', largestValid, now).ok, true);
});

test('inputs the long fuzz run found are refused with a reason, not thrown', () => {
  const impression = (modelVersions: string, servedAt = now) =>
    Buffer.from(
      `{"slateId":"s","userId":"u1","surface":"homepage","servedAt":${servedAt},"variant":"v",` +
        `"modelVersions":${modelVersions},"items":[{"itemId":"i1","position":0,"score":1,"propensity":0.5}]}`,
    );
  const found: [Buffer, RegExp][] = [
    // zod 4.1's record check reads `constructor.prototype` of the input.
    [impression('{"constructor":null}'), /schema violation/],
    [impression('{"constructor":"x"}'), /modelVersions/],
    // Date cannot format a time beyond ±8.64e15 ms.
    [impression('{}', Number.MAX_SAFE_INTEGER), /9007199254740991 ms is more than 24 h in the future/],
  ];
  for (const [bytes, reason] of found) {
    const validation = validateMessage('impressions', bytes, now);
    assert.equal(validation.ok, false);
    if (!validation.ok) assert.match(validation.reason, reason);
  }
});

test('the broker refuses a 10 MB event before any consumer sees it', async () => {
  const settings = await scratchNamespace('fz', 1);
  const producer = eventProducer(kafkaClient(settings, 'cairn-test-huge'));
  await producer.connect();
  try {
    const huge = Buffer.alloc(10 * 2 ** 20, 0x20);
    const error = await producer
      .send({ topic: settings.topics.catalog, acks: -1, messages: [{ key: 'k', value: huge }] })
      .then(
        () => new Error('accepted'),
        (e: Error) => e,
      );
    assert.match(error.message, /too large|larger than/i);
  } finally {
    await producer.disconnect();
    await settings.cleanup();
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  catalogEventSchema,
  interactionSchema,
  interactionTypes,
  userEventSchema,
} from '../../schemas/events';
import {
  type InteractionBatch,
  SyntheticConfigError,
  type SyntheticConfigInput,
  syntheticCategories,
  syntheticInteractionBatches,
  syntheticInteractions,
  syntheticItems,
  syntheticUsers,
} from '../../services/data/synthetic';

const small: SyntheticConfigInput = { seed: 7, itemCount: 2_000, userCount: 500, interactionCount: 20_000 };

/** The whole stream's columns joined, for configs small enough to hold. */
function collect(config: SyntheticConfigInput, batchSize?: number) {
  const batches: InteractionBatch[] = [...syntheticInteractionBatches(config, batchSize)];
  const join = <T extends Uint32Array | Float64Array | Uint8Array | Float32Array>(
    pickColumn: (b: InteractionBatch) => T,
  ) => batches.flatMap((b) => [...pickColumn(b)]);
  return {
    users: join((b) => b.users),
    items: join((b) => b.items),
    timestamps: join((b) => b.timestamps),
    types: join((b) => b.types),
    values: join((b) => b.values),
    surfaces: join((b) => b.surfaces),
  };
}

/** Share of all counts held by the top `fraction` of keys. */
function topShare(counts: Uint32Array, fraction: number): number {
  const sorted = Uint32Array.from(counts).sort().reverse();
  const top = Math.max(1, Math.floor(counts.length * fraction));
  let head = 0;
  let total = 0;
  for (let i = 0; i < sorted.length; i++) {
    total += sorted[i];
    if (i < top) head += sorted[i];
  }
  return head / total;
}

function countBy(
  n: number,
  config: SyntheticConfigInput,
  key: (b: InteractionBatch) => Uint32Array,
): Uint32Array {
  const counts = new Uint32Array(n);
  for (const batch of syntheticInteractionBatches(config)) for (const k of key(batch)) counts[k]++;
  return counts;
}

test('same seed gives the same items, users and interactions; another seed does not', () => {
  assert.deepEqual([...syntheticItems(small)], [...syntheticItems(small)]);
  assert.deepEqual([...syntheticUsers(small)], [...syntheticUsers(small)]);
  assert.deepEqual(collect(small), collect(small));
  assert.deepEqual(
    [...syntheticInteractions(small)].slice(0, 500),
    [...syntheticInteractions(small)].slice(0, 500),
  );

  const other = { ...small, seed: 8 };
  const titles = (c: SyntheticConfigInput) => [...syntheticItems(c)].map((i) => `${i.title}|${i.categories}`);
  assert.notDeepEqual(titles(small), titles(other));
  assert.notDeepEqual(
    [...syntheticUsers(small)].map((u) => u.demographics),
    [...syntheticUsers(other)].map((u) => u.demographics),
  );
  const a = collect(small);
  const b = collect(other);
  assert.notDeepEqual(a.items, b.items);
  assert.notDeepEqual(a.users, b.users);
});

test('the batch size changes how the stream is cut, never what it contains', () => {
  assert.deepEqual(collect(small, 777), collect(small, 20_000));
});

test('counts are exact and ids unique', () => {
  const config = { ...small, itemCount: 1_234, userCount: 321, interactionCount: 10_001 };
  const items = [...syntheticItems(config)];
  const users = [...syntheticUsers(config)];
  const interactions = [...syntheticInteractions(config)];
  assert.equal(items.length, 1_234);
  assert.equal(users.length, 321);
  assert.equal(interactions.length, 10_001);
  assert.equal(new Set(items.map((i) => i.itemId)).size, 1_234);
  assert.equal(new Set(users.map((u) => u.userId)).size, 321);
  assert.equal(new Set(interactions.map((e) => e.eventId)).size, 10_001);
  assert.equal(interactions[10_000].eventId, 'syn:7:10000');

  const batches = [...syntheticInteractionBatches(config, 1_000)];
  assert.equal(batches.length, 11);
  assert.equal(batches[10].users.length, 1);
  assert.equal(batches[10].start, 10_000);
  const itemIds = new Set(items.map((i) => i.itemId));
  const userIds = new Set(users.map((u) => u.userId));
  assert.ok(
    interactions.every((e) => itemIds.has(e.itemId) && userIds.has(e.userId)),
    'ids refer to real entities',
  );
});

test('item popularity and user activity are heavy-tailed; zipfExponent 0 is flat', () => {
  const config = { seed: 3, itemCount: 10_000, userCount: 5_000, interactionCount: 200_000 };
  const popular = topShare(
    countBy(10_000, config, (b) => b.items),
    0.01,
  );
  assert.ok(popular > 0.3, `top 1% of items hold ${(popular * 100).toFixed(1)}% of interactions`);
  const active = topShare(
    countBy(5_000, config, (b) => b.users),
    0.01,
  );
  assert.ok(active > 0.1, `top 1% of users make ${(active * 100).toFixed(1)}% of interactions`);

  const flat = topShare(
    countBy(10_000, { ...config, zipfExponent: 0, favouriteCategoryProbability: 0 }, (b) => b.items),
    0.01,
  );
  assert.ok(flat < 0.03, `uniform popularity still gives the top 1% ${(flat * 100).toFixed(1)}%`);
});

test('favourite categories carry signal: users concentrate on a category only when asked to', () => {
  const base = { seed: 11, itemCount: 5_000, userCount: 1_000, interactionCount: 100_000 };
  const itemCategories = [...syntheticItems(base)].map((i) =>
    i.categories.map((c) => syntheticCategories.indexOf(c as (typeof syntheticCategories)[number])),
  );
  // Mean over active users of the share of their interactions that fall in their top category.
  const concentration = (favouriteCategoryProbability: number) => {
    const perUser = new Uint32Array(base.userCount * syntheticCategories.length);
    const total = new Uint32Array(base.userCount);
    for (const batch of syntheticInteractionBatches({ ...base, favouriteCategoryProbability })) {
      for (let k = 0; k < batch.users.length; k++) {
        const u = batch.users[k];
        total[u]++;
        for (const c of itemCategories[batch.items[k]]) perUser[u * syntheticCategories.length + c]++;
      }
    }
    let sum = 0;
    let users = 0;
    for (let u = 0; u < base.userCount; u++) {
      if (total[u] < 30) continue;
      const row = perUser.subarray(u * syntheticCategories.length, (u + 1) * syntheticCategories.length);
      sum += Math.max(...row) / total[u];
      users++;
    }
    return sum / users;
  };
  const withSignal = concentration(0.8);
  const without = concentration(0);
  assert.ok(
    withSignal > without + 0.15,
    `top-category share ${withSignal.toFixed(2)} with favourites vs ${without.toFixed(2)} without`,
  );
});

test('a sample of everything yielded passes the event schemas', () => {
  const config = { seed: 5, itemCount: 3_000, userCount: 3_000, interactionCount: 5_000 };
  for (const item of syntheticItems(config)) assert.deepEqual(catalogEventSchema.parse(item), item);
  for (const user of syntheticUsers(config)) assert.deepEqual(userEventSchema.parse(user), user);
  const seenTypes = new Set<string>();
  const seenSurfaces = new Set<string>();
  for (const event of syntheticInteractions(config)) {
    assert.deepEqual(interactionSchema.parse(event), event);
    seenTypes.add(event.type);
    seenSurfaces.add(event.surface);
    if (event.type === 'rating')
      assert.ok(Number.isInteger(event.value) && event.value >= 1 && event.value <= 5);
  }
  assert.deepEqual([...seenTypes].sort(), ['click', 'purchase', 'rating', 'view']);
  assert.deepEqual([...seenSurfaces].sort(), ['email', 'homepage', 'item_detail', 'search']);
});

test('items and users look like a catalogue and an audience', () => {
  const items = [...syntheticItems({ seed: 2, itemCount: 20_000 })];
  const byCategory = new Map<string, number>();
  for (const item of items) {
    assert.ok(item.categories.length >= 1 && item.categories.length <= 3);
    assert.equal(new Set(item.categories).size, item.categories.length, 'categories are distinct');
    assert.equal(item.year === null, item.qualityFlags.includes('missing_metadata'));
    for (const c of item.categories) byCategory.set(c, (byCategory.get(c) ?? 0) + 1);
  }
  assert.equal(byCategory.size, syntheticCategories.length);
  assert.ok(
    (byCategory.get('drama') ?? 0) > 5 * (byCategory.get('western') ?? 0),
    'category use is Zipf-ish',
  );
  const flagged = items.filter((i) => i.qualityFlags.length > 0).length / items.length;
  assert.ok(flagged > 0.01 && flagged < 0.06, `quality flags on ${(flagged * 100).toFixed(1)}% of items`);

  const users = [...syntheticUsers({ seed: 2, userCount: 20_000 })];
  const ages = users.map((u) => u.demographics.age ?? 0);
  const adults = ages.filter((a) => a >= 18 && a <= 44).length / ages.length;
  assert.ok(adults > 0.6 && adults < 0.85, `${(adults * 100).toFixed(0)}% aged 18-44`);
  assert.ok(ages.every((a) => a >= 1 && a <= 119));
  assert.deepEqual([...new Set(users.map((u) => u.demographics.gender))].sort(), ['F', 'M']);
  assert.equal(new Set(users.map((u) => u.demographics.occupation)).size, 21);
  assert.ok(users.every((u) => /^[A-Z]{2}$/.test(u.demographics.country ?? '')));
});

test('timestamps never decrease and stay inside the configured span', () => {
  const startAt = Date.UTC(2023, 5, 1);
  const timeSpanMs = 7 * 86_400_000;
  const { timestamps, types, values } = collect({ ...small, startAt, timeSpanMs });
  assert.equal(timestamps[0] >= startAt, true);
  assert.equal(timestamps[timestamps.length - 1] <= startAt + timeSpanMs, true);
  for (let i = 1; i < timestamps.length; i++)
    assert.ok(timestamps[i] >= timestamps[i - 1], `decrease at ${i}`);
  assert.ok(timestamps.every(Number.isInteger));
  const rating = interactionTypes.indexOf('rating');
  assert.ok(
    types.every((t, i) => (t === rating) === !Number.isNaN(values[i])),
    'values exactly on ratings',
  );
});

test('interactions stream: laziness and bounded heap at 200k events', () => {
  setFlagsFromString('--expose-gc');
  const gc: () => void = runInNewContext('gc');
  /** Heap plus array buffers after a full collection: what is really held. */
  const held = () => {
    gc();
    const { heapUsed, external } = process.memoryUsage();
    return heapUsed + external;
  };
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  // Both bounds leave ~100× headroom over what the stream holds (0.15 MB measured at 200k) and
  // stay well below what eager generation would hold (34 MB of objects at 200k; 80 MB for one
  // typed column of 10M): only a stream that keeps its events fails them, never a slow machine.
  const bound = 16 * 1024 * 1024;

  const huge = { seed: 1, itemCount: 1_000, userCount: 1_000, interactionCount: 10_000_000 };
  const before = held();
  const stream = syntheticInteractions(huge);
  assert.equal(stream.next().done, false);
  const started = held() - before;
  assert.ok(started < bound, `the first of 10M events arrives holding ${mb(started)}, not the rest`);

  const baseline = held();
  let peak = 0;
  let seen = 0;
  for (const event of syntheticInteractions({ ...small, interactionCount: 200_000 })) {
    if (event.userId.length > 0) seen++;
    if (seen % 25_000 === 0) peak = Math.max(peak, held() - baseline);
  }
  assert.equal(seen, 200_000);
  assert.ok(peak < bound, `heap grew by ${mb(peak)}`);
});

test('bad configs are refused up front with every problem named', () => {
  assert.throws(
    () => syntheticInteractions({ itemCount: 2_000_000, interactionCount: 0, zipfExponent: -1 }),
    (error: unknown) =>
      error instanceof SyntheticConfigError &&
      /itemCount/.test(error.message) &&
      /interactionCount/.test(error.message) &&
      /zipfExponent/.test(error.message),
  );
  assert.throws(() => syntheticItems({ seed: 1.5 }), /seed/);
  const typo = { seed: 1, usercount: 10 };
  assert.throws(() => syntheticUsers(typo), /Unrecognized key: "usercount"/);
  assert.throws(() => syntheticInteractions({ startAt: 1_700_000_000 }), /epoch milliseconds/);
  assert.throws(() => syntheticInteractionBatches(small, 0), /batchSize/);
});

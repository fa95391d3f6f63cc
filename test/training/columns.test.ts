import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hasMl100k, readInteractions } from '../../bench/models/movielens-files';
import { syntheticInteractions, syntheticItems, syntheticUsers } from '../../services/data/synthetic';
import { relevanceOf } from '../../services/evaluation/ranking';
import { splitInteractions } from '../../services/evaluation/splits';
import {
  buildInteractionMatrix,
  IdIndex,
  type InteractionMatrix,
  indexInteractions,
} from '../../services/models/interaction-matrix';
import { mulberry32 } from '../../services/models/random';
import type { Interaction } from '../../services/models/types';
import { InteractionStore } from '../../services/store/interaction-store';
import {
  interactionColumns,
  readColumnarTrainingSet,
  trainingObjects,
} from '../../services/store/training-set';
import { holdoutSplit, holdoutUsers, snapshotMatrix } from '../../services/training/candidate-training';

/** Repeated pairs, same-second ties and unused catalog items on purpose. */
function repetitiveLog(users: number, seed: number): Interaction[] {
  const random = mulberry32(seed);
  const log: Interaction[] = [];
  for (let u = 0; u < users; u++) {
    const n = 1 + Math.floor(random() * 40);
    for (let j = 0; j < n; j++)
      log.push({
        user: `u${Math.floor(random() * users)}`,
        item: `i${Math.floor(random() * 60)}`,
        timestamp: 1000 + Math.floor(random() * 50),
        rating: 1 + Math.floor(random() * 5),
      });
  }
  return log;
}

function assertSameMatrix(actual: InteractionMatrix, expected: InteractionMatrix, what: string): void {
  assert.deepEqual(actual.users.ids, expected.users.ids, `${what}: users`);
  assert.deepEqual(actual.items.ids, expected.items.ids, `${what}: items`);
  for (const field of ['userPtr', 'userItems', 'userTimes', 'itemPtr', 'itemUsers', 'itemEntries'] as const)
    assert.deepEqual(actual[field], expected[field], `${what}: ${field}`);
}

/** What the retrain computed from one object per interaction before it read columns. */
function objectPath(interactions: Interaction[], catalog: string[], seed: number) {
  const { users, items } = indexInteractions(interactions);
  const split = splitInteractions('stratified', interactions, seed);
  return {
    train: buildInteractionMatrix(split.train, users, items),
    test: relevanceOf(split.test, users, items),
    whole: buildInteractionMatrix(
      interactions,
      users,
      IdIndex.of([...catalog, ...interactions.map((x) => x.item)]),
    ),
  };
}

function assertColumnsMatchObjects(interactions: Interaction[], catalog: string[], seed: number): void {
  const expected = objectPath(interactions, catalog, seed);
  const columns = interactionColumns(interactions, catalog);
  const { train, test } = holdoutSplit(columns, seed);
  assertSameMatrix(train, expected.train, 'holdout train');
  assert.deepEqual(
    [...test].map(([u, items]) => [u, [...items]]),
    [...expected.test].map(([u, items]) => [u, [...items]]),
    'the same held-out items per user, in the same order',
  );
  assertSameMatrix(snapshotMatrix(columns), expected.whole, 'retrieval matrix');
}

test('the holdout split and the retrieval matrix from columns equal those from one object per interaction', () => {
  const catalog = Array.from({ length: 70 }, (_, i) => `i${i}`);
  for (const seed of [1, 7, 42]) assertColumnsMatchObjects(repetitiveLog(80, seed), catalog, seed);
});

test(
  'ML-100K: the columnar holdout and retrieval matrix equal the object path’s',
  { skip: !hasMl100k() },
  () => {
    const interactions = readInteractions();
    assertColumnsMatchObjects(interactions, [...new Set(interactions.map((x) => x.item))], 7);
  },
);

test('a store opened read-only reads back as columns record for record, and the evaluation adapter makes the same objects as a scan', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-columns-'));
  try {
    const data = { seed: 3, itemCount: 50, userCount: 30, interactionCount: 2_000 };
    const store = await InteractionStore.open(dir);
    for (const event of syntheticUsers(data)) store.apply({ stream: 'users', event });
    for (const event of syntheticItems(data)) store.apply({ stream: 'catalog', event });
    for (const event of syntheticInteractions(data)) store.apply({ stream: 'interactions', event });
    await store.commit({});
    const scanned: Interaction[] = [];
    await store.scanInteractions((r) =>
      scanned.push({
        user: store.userIds[r.user],
        item: store.itemIds[r.item],
        timestamp: Math.floor(r.occurredAt / 1000),
        rating: r.value,
      }),
    );
    const checksum = await store.checksum();
    await store.close();
    // What the training thread opens: no fingerprints or counters rebuilt, no writes.
    const snapshot = await InteractionStore.open(dir, { readOnly: true });
    const training = await readColumnarTrainingSet(snapshot);
    assert.equal(await snapshot.checksum(), checksum, 'a snapshot id is the same read-only');
    assert.deepEqual(snapshot.counts(), { interactions: 2_000, impressions: 0, items: 50, users: 30 });
    assert.throws(
      () => snapshot.apply({ stream: 'users', event: [...syntheticUsers(data)][0] }),
      /read-only/,
    );
    await snapshot.close();
    assert.equal(training.interactions.length, 2_000);
    assert.deepEqual(trainingObjects(training).interactions, scanned);
    assert.equal(training.items.length, 50);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the holdout scores every user up to its limit, and above it the same seeded sample every time, in user order', () => {
  const test = new Map(Array.from({ length: 50 }, (_, u) => [u * 2, new Set([u])]));
  assert.equal(holdoutUsers(test, 7, 50), test, 'at the limit: everyone');
  const sample = holdoutUsers(test, 7, 10);
  assert.equal(sample.size, 10);
  assert.deepEqual([...sample.keys()], [...holdoutUsers(test, 7, 10).keys()]);
  assert.deepEqual(
    [...sample.keys()],
    [...sample.keys()].sort((a, b) => a - b),
  );
  for (const [user, items] of sample) assert.equal(items, test.get(user));
  assert.notDeepEqual(
    [...holdoutUsers(test, 8, 10).keys()],
    [...sample.keys()],
    'another seed, another sample',
  );
});

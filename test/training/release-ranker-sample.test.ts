import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildInteractionMatrix, IdIndex, indexInteractions } from '../../services/models/interaction-matrix';
import { mulberry32 } from '../../services/models/random';
import type { Interaction } from '../../services/models/types';
import { decodeFeatureTables, encodeFeatureTables } from '../../services/ranking/feature-tables-artifact';
import { RankingFeatures, ratingsOf } from '../../services/ranking/features';
import {
  type ColumnarTrainingSet,
  interactionColumns,
  trainingObjects,
} from '../../services/store/training-set';
import { parseTrainingConfig } from '../../services/training/config';
import {
  rankerFiles,
  rankerSample,
  rankerSignals,
  trainSnapshotRanker,
} from '../../services/training/release-ranker';

/** Rated histories over a skewed catalog, each user's ratings leaning on their taste for half of it. */
function ratedSnapshot(users: number, items: number, seed: number, reversed = false): ColumnarTrainingSet {
  const random = mulberry32(seed);
  const interactions: Interaction[] = [];
  for (let u = 0; u < users; u++)
    for (let k = 0; k < 30; k++) {
      const item = Math.floor(items * random() ** 2);
      const liked = (item % 2 === u % 2) === random() < 0.8;
      interactions.push({
        user: `u${u}`,
        item: `i${item}`,
        timestamp: 1_000_000 + k * 3_600 + u,
        rating: liked ? 4 + Math.floor(random() * 2) : 1 + Math.floor(random() * 3),
      });
    }
  if (reversed) interactions.reverse();
  const ids = Array.from({ length: items }, (_, i) => `i${i}`);
  return {
    interactions: interactionColumns(interactions, ids),
    items: ids,
    demographics: new Map(),
    itemContent: new Map(
      ids.map((id, i) => [id, { title: id, year: 1990 + (i % 20), genres: [`g${i % 5}`] }]),
    ),
  };
}

test('over maxUsers the ranker is evaluated on a seeded sample of whole histories, whatever the store order', () => {
  const snapshot = ratedSnapshot(50, 80, 1);
  const sample = rankerSample(snapshot, 7, 20);
  const users = new Set(sample.interactions.map((x) => x.user));
  assert.equal(users.size, 20);
  assert.equal(sample.interactions.length, 20 * 30, 'every interaction of a sampled user');
  const again = rankerSample(ratedSnapshot(50, 80, 1, true), 7, 20);
  assert.deepEqual(
    new Set(again.interactions.map((x) => x.user)),
    users,
    'the same users from another store order',
  );
  assert.notDeepEqual(new Set(rankerSample(snapshot, 8, 20).interactions.map((x) => x.user)), users);
  assert.equal(rankerSample(snapshot, 7, 50).interactions.length, 50 * 30, 'at most maxUsers: everyone');
});

test('a ranker fitted on a sample of users publishes feature tables over every user and item of the snapshot', async () => {
  const { ials } = parseTrainingConfig({ ials: { factors: 8, epochs: 4 } });
  const snapshot = ratedSnapshot(240, 150, 3);
  const { spec, files } = await trainSnapshotRanker(snapshot, ials, 1, 1, 120);
  assert.ok('holdout' in spec, spec.reason);
  assert.match(spec.reason, /of a sample of 120 users/);
  const tables = decodeFeatureTables(files[rankerFiles.features]);
  assert.equal(tables.userAge.length, 240);
  assert.equal(tables.nItems, 150);
  // From the columns as from one object per interaction, in the release's indexes.
  const objects = trainingObjects(snapshot);
  const matrix = buildInteractionMatrix(
    objects.interactions,
    indexInteractions(objects.interactions).users,
    IdIndex.of(snapshot.items),
  );
  const fromObjects = new RankingFeatures({
    train: matrix,
    ratings: ratingsOf(objects.interactions, matrix),
    catalog: snapshot.itemContent,
    demographics: snapshot.demographics,
    signals: rankerSignals,
  });
  assert.deepEqual(files[rankerFiles.features], encodeFeatureTables(fromObjects.tables));
});

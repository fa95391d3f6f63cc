import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Interaction } from '../../services/models/types';
import { type ColumnarTrainingSet, interactionColumns } from '../../services/store/training-set';
import { parseTrainingConfig } from '../../services/training/config';
import { rankerFiles, trainSnapshotRanker } from '../../services/training/release-ranker';

/** Clicks only, no ratings: the ranker's rating head has nothing to learn from. */
function clickOnlyTrainingSet(): ColumnarTrainingSet {
  const interactions: Interaction[] = [];
  const items = Array.from({ length: 60 }, (_, i) => `i${i}`);
  for (let u = 0; u < 40; u++) {
    for (let k = 0; k < 12; k++)
      interactions.push({ user: `u${u}`, item: items[(u * 7 + k * 3) % 40], timestamp: 1_000 + u * 20 + k });
    for (let k = 0; k < 4; k++)
      interactions.push({
        user: `u${u}`,
        item: items[40 + ((u + k) % 20)],
        timestamp: 1_000_000 + u * 10 + k,
      });
  }
  return {
    interactions: interactionColumns(interactions, items),
    items,
    demographics: new Map(),
    itemContent: new Map(items.map((id) => [id, { title: id, year: 1990, genres: ['Drama'] }])),
  };
}

test('a click-only snapshot (no ratings) gives a release without a ranker and says why, not a failed retrain', async () => {
  const { ials } = parseTrainingConfig({ ials: { factors: 4, epochs: 2 } });
  const { spec, files } = await trainSnapshotRanker(clickOnlyTrainingSet(), ials, 1, 1);
  assert.equal(spec.won, false);
  assert.match(
    spec.reason,
    /^not trained: the rating head's training candidates have labels of one class only/,
  );
  assert.deepEqual(Object.keys(files), [rankerFiles.spec]);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasMl100k, readInteractions } from '../../bench/models/movielens-files';
import { evaluateRanking, recommend } from '../../services/evaluation/ranking';
import { Ials } from '../../services/models/ials';
import { buildInteractionMatrix, indexInteractions } from '../../services/models/interaction-matrix';
import { mulberry32 } from '../../services/models/random';
import type { Interaction } from '../../services/models/types';
import { interactionColumns } from '../../services/store/training-set';
import {
  type HoldoutScore,
  holdoutScore,
  holdoutSplit,
  holdoutUsers,
} from '../../services/training/candidate-training';
import { parseTrainingConfig } from '../../services/training/config';
import { rankOnThreads } from '../../services/training/factor-ranking';

function randomLog(users: number, items: number, seed: number): Interaction[] {
  const random = mulberry32(seed);
  return Array.from({ length: users * 12 }, (_, n) => ({
    user: `u${n % users}`,
    item: `i${Math.floor(random() ** 2 * items)}`,
    timestamp: n,
    rating: 1,
  }));
}

test('ranking on threads gives every user the lists Ials.scoreUser and topK give, for any thread count and a short last block', async () => {
  const interactions = randomLog(37, 300, 5);
  const { users, items } = indexInteractions(interactions);
  const train = buildInteractionMatrix(interactions, users, items);
  // Two threads put the factors in shared memory, which the ranking threads read in place.
  const model = new Ials({ factors: 12, lambda: 1, alpha: 2, epochs: 3, threads: 2 });
  await model.fit(train);
  const rows = Array.from({ length: 37 }, (_, u) => (u * 7) % 37);
  const expected = recommend(model, train, rows, 10);
  for (const threads of [1, 2, 3]) {
    const ranked = await rankOnThreads(
      { users: model.userVectors, items: model.itemVectors, factors: 12 },
      rows,
      train,
      10,
      threads,
    );
    assert.deepEqual(
      rows.map((u) => [...ranked.get(u)!]),
      rows.map((u) => [...expected.get(u)!]),
      `${threads} thread(s)`,
    );
  }
});

/** What the holdout scored before it ranked on threads: `evaluateRanking` on the same fit. */
async function holdoutOnOneThread(
  interactions: Interaction[],
  seed: number,
  threads: number,
): Promise<HoldoutScore> {
  const { ials } = parseTrainingConfig({});
  const { train, test } = holdoutSplit(interactionColumns(interactions), seed);
  const model = new Ials({ ...ials, threads });
  await model.fit(train);
  const { report } = evaluateRanking(model, train, holdoutUsers(test, seed), 10);
  return { ndcgAt10: report.ndcg, recallAt10: report.recall, users: report.users };
}

test('the holdout score is the one-thread evaluation of the same fit (synthetic log)', async () => {
  const interactions = randomLog(120, 400, 9);
  const { ials } = parseTrainingConfig({});
  const columns = interactionColumns(interactions);
  assert.deepEqual(await holdoutScore(columns, ials, 7, 2), await holdoutOnOneThread(interactions, 7, 2));
});

test('the ML-100K holdout score is unchanged by ranking on threads', { skip: !hasMl100k() }, async () => {
  const interactions = readInteractions();
  const { ials } = parseTrainingConfig({});
  const score = await holdoutScore(interactionColumns(interactions), ials, 7, 2);
  assert.equal(score.users, 943);
  assert.deepEqual(score, await holdoutOnOneThread(interactions, 7, 2));
});

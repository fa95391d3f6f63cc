import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildInteractionMatrix,
  indexInteractions,
  itemsOfUser,
} from '../../services/models/interaction-matrix';
import type { Interaction } from '../../services/models/types';
import { decodeFeatureTables, encodeFeatureTables } from '../../services/ranking/feature-tables-artifact';
import { RankingFeatures, ratingsOf, SignalScores } from '../../services/ranking/features';
import { combineHeads, predictHead, Ranker, trainHead } from '../../services/ranking/ranker';
import type { Candidate } from '../../services/serving/candidates';
import { buildHotState } from '../../services/serving/hot-state';
import { LiveCatalog } from '../../services/serving/live-catalog';
import { OnnxRankingStage } from '../../services/serving/rank/onnx-ranker';
import { contextOf } from './hot-state-fixture';

const nUsers = 60;
const nItems = 40;
const dims = 4;
const interactions: Interaction[] = [];
for (let u = 0; u < nUsers; u++)
  for (let n = 0; n < 8; n++) {
    const item = (u * 7 + n * n * 3) % nItems;
    interactions.push({
      user: `u${u}`,
      item: `i${item}`,
      rating: 1 + ((u + item) % 5),
      timestamp: 1000 * u + n,
    });
  }
const index = indexInteractions(interactions);
const matrix = buildInteractionMatrix(interactions, index.users, index.items);
const catalog = new Map(
  index.items.ids.map((id, i) => [
    id,
    { year: 1980 + (i % 20), genres: [`g${i % 3}`, ...(i % 4 === 0 ? ['g9'] : [])] },
  ]),
);
const features = new RankingFeatures({
  train: matrix,
  ratings: ratingsOf(interactions, matrix),
  catalog,
  demographics: new Map(
    index.users.ids.map((id, u) => [id, { age: 18 + u, gender: u % 2 ? 'F' : 'M', occupation: 'x' }]),
  ),
  signals: ['generator', 'ials'],
});
const vector = (seed: number) =>
  Array.from({ length: dims }, (_, d) => Math.sin(seed * 12.9898 + d * 78.233));
const userVectors = Float32Array.from(index.users.ids.flatMap((_, u) => vector(u + 1)));
const itemVectors = Float32Array.from(index.items.ids.flatMap((_, i) => vector(-i - 1)));
const seen = index.users.ids.map((_, u) => Array.from(itemsOfUser(matrix, u)));

/** The release's iALS scores as a signal, the way the stage computes them. */
function signalOf(u: number): SignalScores {
  const scores = new Float32Array(nItems);
  for (let i = 0; i < nItems; i++)
    for (let d = 0; d < dims; d++) scores[i] += userVectors[u * dims + d] * itemVectors[i * dims + d];
  return SignalScores.over(scores);
}

function trainedRanker(ratingWeight: number): Ranker {
  const candidates = Int32Array.from({ length: nItems }, (_, i) => i);
  const width = features.names.length;
  const values = new Float32Array(nUsers * nItems * width);
  const labels = new Float32Array(nUsers * nItems);
  for (let u = 0; u < nUsers; u++) {
    const signal = signalOf(u);
    features.fill(
      u,
      candidates,
      [signal, signal],
      features.replayContext(u, 'homepage'),
      values,
      u * nItems * width,
    );
    for (let i = 0; i < nItems; i++) labels[u * nItems + i] = (i + u) % 3 === 0 ? 1 : 0;
  }
  const rows = { values, rows: nUsers * nItems, columns: width, labels };
  const settings = { maxDepth: 3, eta: 0.3, minChildWeight: 1, subsample: 1, colsample: 1, maxRounds: 20 };
  return new Ranker(
    {
      interaction: trainHead({ settings, train: rows, seed: 1 }).booster,
      rating: trainHead({
        settings,
        train: { ...rows, labels: labels.map((l, r) => (r % 5 === 0 ? 1 - l : l)) },
        seed: 2,
      }).booster,
    },
    { interaction: 1, rating: ratingWeight },
    features.names,
  );
}

test('the ONNX ranking stage scores the whole batch in one graph as the trained ranker does and orders it best first', async () => {
  const state = buildHotState(
    {
      family: 'retrieval',
      version: 'v',
      dims,
      itemIds: [...index.items.ids],
      itemVectors,
      userIds: [...index.users.ids],
      userVectors,
      seen,
    },
    new LiveCatalog(),
    'idx',
  );
  for (const ratingWeight of [0, 0.5]) {
    const ranker = trainedRanker(ratingWeight);
    // Published and read back, as serving gets the tables.
    const tables = decodeFeatureTables(encodeFeatureTables(features.tables));
    const stage = await OnnxRankingStage.load({ onnx: ranker.toScoringOnnx(), tables }, 4, state.items);
    try {
      // Repeated users: each request's signal is the user's own.
      for (const user of ['u3', 'u17', 'u42', 'u3', 'u17']) {
        const context = contextOf(state, { userId: user });
        assert.ok(stage.knows(context));
        const u = context.user ?? -1;
        const items = [5, 9, 1, 30, 22, 11, 38];
        const candidates: Candidate[] = items.map((item) => ({
          item,
          score: 0,
          sources: new Map(),
          exploration: false,
          propensity: 1,
        }));
        const ranked = await stage.rank(context, candidates);

        const width = features.names.length;
        const values = new Float32Array(items.length * width);
        const signal = signalOf(u);
        features.fill(u, items, [signal, signal], features.replayContext(u, 'homepage'), values);
        const rows = { values, rows: items.length, columns: width };
        const expected = combineHeads(
          {
            interaction: predictHead(ranker.heads.interaction, rows),
            rating: predictHead(ranker.heads.rating, rows),
          },
          ranker.weights,
        );
        const byItem = new Map(items.map((item, r) => [item, expected[r]]));
        for (const c of ranked)
          assert.ok(Math.abs(c.score - (byItem.get(c.item) ?? Number.NaN)) < 1e-4, `${user} item ${c.item}`);
        for (let r = 1; r < ranked.length; r++)
          assert.ok(ranked[r - 1].score >= ranked[r].score, 'best first');
      }
      assert.equal(
        stage.knows(contextOf(state, { userId: 'stranger' })),
        false,
        'an unknown user is left to the blend',
      );
    } finally {
      await stage.release();
      ranker.dispose();
    }
  }
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spec } from '../../services/evaluation/grid-search';
import { PROTOCOLS, type Protocol, splitInteractions } from '../../services/evaluation/splits';
import { Ease } from '../../services/models/ease';
import { GlobalPopularity } from '../../services/models/popularity';
import { mulberry32 } from '../../services/models/random';
import type { Demographics, Interaction } from '../../services/models/types';
import type { CatalogItem } from '../../services/ranking/features';
import { type PipelineOptions, runPipelineEvaluation } from '../../services/ranking/pipeline-evaluation';

/** Three taste groups, each with its own genre; in-group items are seen more and rated higher. */
const random = mulberry32(11);
const log: Interaction[] = [];
const demographics = new Map<string, Demographics>();
const catalog = new Map<string, CatalogItem>();
const GENRES = ['Comedy', 'Drama', 'Horror'];
for (let i = 0; i < 45; i++) catalog.set(`i${i}`, { year: 1980 + i, genres: [GENRES[i % 3]] });
for (let u = 0; u < 90; u++) {
  const group = u % 3;
  demographics.set(`u${u}`, { age: 20 + group * 15, gender: u % 2 ? 'F' : 'M', occupation: `job${group}` });
  for (let i = 0; i < 45; i++) {
    const inGroup = i % 3 === group;
    if (random() >= (inGroup ? 0.45 : 0.08)) continue;
    const rating = Math.min(5, Math.max(1, Math.round((inGroup ? 4 : 2.5) + (random() - 0.5) * 3)));
    log.push({
      user: `u${u}`,
      item: `i${i}`,
      rating,
      timestamp: 1_000_000 + Math.floor(random() * 5_000_000),
    });
  }
}

const options: PipelineOptions = {
  signals: [
    spec('ease', [{ lambda: 10 }], (p) => new Ease(p)),
    spec('popularity', [{}], () => new GlobalPopularity()),
  ],
  blendWeights: [
    [1, 0],
    [0.7, 0.3],
  ],
  catalog,
  demographics,
  candidates: 15,
  k: 5,
  seed: 3,
  treeGrid: [{ maxDepth: 3, eta: 0.3, minChildWeight: 1, subsample: 1, colsample: 1, maxRounds: 30 }],
  ratingWeights: [0, 1],
  threads: 1,
};

describe('pipeline evaluation: generator → ranker → top-K', () => {
  it('reports both protocols with ONNX heads that reproduce XGBoost', async () => {
    const result = await runPipelineEvaluation(log, options);
    for (const protocol of PROTOCOLS) {
      const o = result[protocol];
      for (const row of Object.values(o.metrics)) {
        for (const value of Object.values(row)) assert.ok(value >= 0 && value <= 1, `${protocol}: ${value}`);
      }
      assert.ok(
        o.metrics.generator['recall@5'] <= o.candidateRecall,
        'no top-5 reaches past its candidate list',
      );
      assert.ok(o.trainingRows.interaction.positives > 0 && o.trainingRows.rating.rows > 0);
      // Every synthetic interaction is rated, so every interacted candidate is a rating example.
      assert.equal(o.trainingRows.rating.rows, o.trainingRows.interaction.positives);
      assert.ok(o.heads.interaction.test.auc > 0.5, `${protocol}: test AUC ${o.heads.interaction.test.auc}`);
      assert.ok(o.onnx.maxDifference.interaction < 1e-5 && o.onnx.maxDifference.rating < 1e-5);
      // Weight 0 is on the grid and scores exactly as the interaction ranker, so the chosen one is no worse.
      assert.ok(o.validationNdcg.ranker >= o.validationNdcg.interactionRanker, `${protocol}: weight choice`);
      if (o.weights.rating === 0) assert.deepEqual(o.metrics.ranker, o.metrics.interactionRanker);
      assert.equal(o.featureNames.length, 15 + GENRES.length + 3 * 3);
    }
  });

  it('chooses the rating weight with the best holdout NDCG, the earlier one on a tie', async () => {
    const protocol = PROTOCOLS[0];
    const run = async (ratingWeights: number[]) =>
      (await runPipelineEvaluation(log, { ...options, ratingWeights, protocols: [protocol] }))[protocol];
    const chosen = await run([0, 0.5, 1]);
    const alone: { w: number; ndcg: number }[] = [];
    for (const w of [0, 0.5, 1]) alone.push({ w, ndcg: (await run([w])).validationNdcg.ranker });
    const best = alone.reduce((a, b) => (b.ndcg > a.ndcg ? b : a));
    assert.equal(chosen.weights.rating, best.w, JSON.stringify(alone));
    assert.equal(chosen.validationNdcg.ranker, best.ndcg);
    assert.equal(
      alone[0].ndcg,
      chosen.validationNdcg.interactionRanker,
      'weight 0 is the interaction ranker',
    );
  });

  it('makes every choice without reading the test split', async () => {
    for (const protocol of PROTOCOLS) {
      const once = (interactions: Interaction[]) =>
        runPipelineEvaluation(interactions, { ...options, protocols: [protocol] as Protocol[] });
      const before = (await once(log))[protocol];
      // Ratings do not move the split, so mirroring them changes test labels and nothing else.
      const tested = new Set(splitInteractions(protocol, log, options.seed!).test);
      const after = (await once(log.map((x) => (tested.has(x) ? { ...x, rating: 6 - x.rating! } : x))))[
        protocol
      ];
      assert.deepEqual(after.generator, before.generator);
      assert.deepEqual(after.weights, before.weights);
      assert.deepEqual(after.validationNdcg, before.validationNdcg);
      assert.deepEqual(after.trainingRows, before.trainingRows);
      for (const head of ['interaction', 'rating'] as const) {
        const { test: _before, ...choiceBefore } = before.heads[head];
        const { test: _after, ...choiceAfter } = after.heads[head];
        assert.deepEqual(choiceAfter, choiceBefore);
      }
      assert.deepEqual(after.metrics, before.metrics, 'interaction relevance ignores ratings');
      assert.notDeepEqual(
        after.heads.rating.test,
        before.heads.rating.test,
        'the mirrored ratings were read',
      );
    }
  });
});

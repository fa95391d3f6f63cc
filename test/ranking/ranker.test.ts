import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32 } from '../../services/models/random';
import {
  combineHeads,
  OnnxRanker,
  Ranker,
  type TreeSettings,
  trainHead,
} from '../../services/ranking/ranker';
import type { FeatureRows } from '../../services/ranking/xgboost';

const FEATURES = 5;

/** Interaction follows features 0 and 1, liking follows feature 2; one value in twenty is missing. */
function rows(
  count: number,
  seed: number,
  label: (x: (f: number) => number, noise: number) => boolean,
): FeatureRows {
  const random = mulberry32(seed);
  const values = new Float32Array(count * FEATURES);
  const labels = new Float32Array(count);
  for (let r = 0; r < count; r++) {
    for (let f = 0; f < FEATURES; f++) values[r * FEATURES + f] = random() < 0.05 ? Number.NaN : random();
    const x = (f: number) => (Number.isNaN(values[r * FEATURES + f]) ? 0.5 : values[r * FEATURES + f]);
    labels[r] = label(x, random()) ? 1 : 0;
  }
  return { values, rows: count, columns: FEATURES, labels };
}

const interacts = (x: (f: number) => number, noise: number) => x(0) + x(1) + noise > 1.8;
const likes = (x: (f: number) => number, noise: number) => x(2) + 0.5 * noise > 0.7;

const SETTINGS: TreeSettings = {
  maxDepth: 4,
  eta: 0.3,
  minChildWeight: 1,
  subsample: 1,
  colsample: 1,
  maxRounds: 300,
};

describe('ranker heads', () => {
  it('stops early at the best validation log loss and keeps only those rounds', () => {
    const { booster, rounds, validationLogLoss } = trainHead({
      settings: SETTINGS,
      train: rows(600, 1, interacts),
      validation: rows(400, 2, interacts),
    });
    try {
      assert.ok(rounds > 0 && rounds < SETTINGS.maxRounds, `kept ${rounds} rounds`);
      assert.ok(validationLogLoss < Math.log(2), `validation log loss ${validationLogLoss}`);
      const trees = JSON.parse(booster.modelJson()).learner.gradient_booster.model.trees.length;
      assert.equal(trees, rounds);
    } finally {
      booster.dispose();
    }
  });

  it('boosts exactly the asked rounds without validation rows', () => {
    const { booster, rounds } = trainHead({ settings: SETTINGS, train: rows(300, 3, interacts), rounds: 7 });
    try {
      assert.equal(rounds, 7);
      assert.equal(JSON.parse(booster.modelJson()).learner.gradient_booster.model.trees.length, 7);
    } finally {
      booster.dispose();
    }
  });

  it('refuses training labels of one class', () => {
    const train = rows(50, 4, () => false);
    assert.throws(() => trainHead({ settings: SETTINGS, train, rounds: 1 }), /labels are all 0/);
  });

  it('combines heads as a weighted sum of log probabilities', () => {
    const score = combineHeads({ interaction: [0.5, 0.2], rating: [0.25, 0] }, { interaction: 1, rating: 2 });
    assert.ok(Math.abs(score[0] - (Math.log(0.5) + 2 * Math.log(0.25))) < 1e-12);
    assert.ok(Number.isFinite(score[1]) && score[1] < -50, 'a zero probability is clamped, not -Infinity');
    const interactionOnly = combineHeads({ interaction: [0.5], rating: [0] }, { interaction: 1, rating: 0 });
    assert.equal(interactionOnly[0], Math.log(0.5));
  });

  it('scores the same in onnxruntime as in XGBoost', async () => {
    const head = (label: typeof interacts, seed: number) =>
      trainHead({ settings: SETTINGS, train: rows(800, seed, label), rounds: 40 }).booster;
    const weights = { interaction: 1, rating: 0.5 };
    const ranker = new Ranker({ interaction: head(interacts, 5), rating: head(likes, 6) }, weights, [
      'f0',
      'f1',
      'f2',
      'f3',
      'f4',
    ]);
    const served = await OnnxRanker.load(ranker.toOnnx(), weights, FEATURES);
    try {
      const request = rows(300, 7, interacts);
      const expected = ranker.predict(request);
      const actual = await served.predict(request.values);
      for (const h of ['interaction', 'rating'] as const) {
        for (let r = 0; r < request.rows; r++) {
          assert.ok(Math.abs(actual[h][r] - expected[h][r]) < 1e-5, `${h} row ${r}`);
        }
      }
      const expectedScores = ranker.score(request);
      const actualScores = await served.score(request.values);
      for (let r = 0; r < request.rows; r++) {
        // The logarithm magnifies float32 noise on small probabilities by 1/p.
        const p = Math.min(expected.interaction[r], expected.rating[r]);
        assert.ok(Math.abs(actualScores[r] - expectedScores[r]) < 1e-5 / p, `score row ${r}`);
      }
    } finally {
      await served.release();
      ranker.dispose();
    }
  });
});

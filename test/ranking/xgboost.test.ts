import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32 } from '../../services/models/random';
import {
  Booster,
  DMatrix,
  type FeatureRows,
  XgboostError,
  xgboostVersion,
} from '../../services/ranking/xgboost';

/** Label is 1 exactly when the first feature exceeds 0.5; the second feature is noise. */
function thresholdRows(rows: number, seed: number): FeatureRows {
  const random = mulberry32(seed);
  const values = new Float32Array(rows * 2);
  const labels = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    values[2 * r] = random();
    values[2 * r + 1] = random();
    labels[r] = values[2 * r] > 0.5 ? 1 : 0;
  }
  return { values, rows, columns: 2, labels };
}

const PARAMS = { objective: 'binary:logistic', tree_method: 'hist', eval_metric: 'logloss', nthread: 1 };

describe('xgboost through koffi', () => {
  it('is the 1.x library that install-ranker.sh installs', () => {
    assert.match(xgboostVersion(), /^1\.\d+\.\d+$/);
  });

  it('learns a threshold from Float32Array rows and predicts probabilities', () => {
    const rows = thresholdRows(500, 1);
    const matrix = DMatrix.fromRows(rows);
    const booster = Booster.create(PARAMS, [matrix]);
    try {
      const losses: number[] = [];
      for (let round = 0; round < 10; round++) {
        booster.updateOneIteration(round, matrix);
        losses.push(booster.evaluate(round, matrix).logloss);
      }
      assert.ok(losses[9] < losses[0] / 4, `log loss ${losses[0]} → ${losses[9]}`);
      const probabilities = booster.predict(matrix);
      assert.equal(probabilities.length, 500);
      for (let r = 0; r < 500; r++) {
        assert.equal(probabilities[r] > 0.5, rows.labels![r] === 1, `row ${r}`);
        assert.ok(probabilities[r] > 0 && probabilities[r] < 1);
      }
    } finally {
      booster.dispose();
      matrix.dispose();
    }
  });

  it('slices the first rounds and serialises every tree as JSON', () => {
    const matrix = DMatrix.fromRows(thresholdRows(200, 2));
    const booster = Booster.create({ ...PARAMS, max_depth: 2 }, [matrix]);
    try {
      for (let round = 0; round < 6; round++) booster.updateOneIteration(round, matrix);
      const first = booster.slice(2);
      try {
        const trees = (json: string) => JSON.parse(json).learner.gradient_booster.model.trees.length;
        assert.equal(trees(booster.modelJson()), 6);
        assert.equal(trees(first.modelJson()), 2);
      } finally {
        first.dispose();
      }
    } finally {
      booster.dispose();
      matrix.dispose();
    }
  });

  it("reports the library's own message when a call fails", () => {
    const matrix = DMatrix.fromRows(thresholdRows(50, 3));
    const booster = Booster.create({ ...PARAMS, max_depth: 'deep' }, [matrix]);
    try {
      // Parameters are checked when the booster configures itself, i.e. on the first update.
      assert.throws(
        () => booster.updateOneIteration(0, matrix),
        (error: unknown) => error instanceof XgboostError && /max_depth/.test(error.message),
      );
    } finally {
      booster.dispose();
      matrix.dispose();
    }
  });

  it('refuses rows whose shape does not match their values, and handles used after dispose', () => {
    assert.throws(
      () => DMatrix.fromRows({ values: new Float32Array(5), rows: 2, columns: 2 }),
      /5 values for 2 × 2/,
    );
    const matrix = DMatrix.fromRows({ values: new Float32Array(4), rows: 2, columns: 2 });
    matrix.dispose();
    matrix.dispose();
    assert.throws(() => matrix.handle, /after dispose/);
  });
});

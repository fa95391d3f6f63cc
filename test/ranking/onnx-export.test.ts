import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { mulberry32 } from '../../services/models/random';
import {
  baseMargin,
  ONNX_INPUT,
  ONNX_OUTPUT,
  readTreeEnsemble,
  treeEnsembleToOnnx,
} from '../../services/ranking/onnx-export';
import { Booster, type BoosterParams, DMatrix, type FeatureRows } from '../../services/ranking/xgboost';

const FEATURES = 6;

/**
 * A nonlinear target with one in ten values missing (NaN), so the trees use default
 * directions, and thresholds land between float32 values of the inputs.
 */
function rows(count: number, seed: number): FeatureRows {
  const random = mulberry32(seed);
  const values = new Float32Array(count * FEATURES);
  const labels = new Float32Array(count);
  for (let r = 0; r < count; r++) {
    for (let f = 0; f < FEATURES; f++)
      values[r * FEATURES + f] = random() < 0.1 ? Number.NaN : random() * 10 - 5;
    const x = (f: number) => (Number.isNaN(values[r * FEATURES + f]) ? 0 : values[r * FEATURES + f]);
    labels[r] = x(0) * x(1) + Math.sin(x(2)) * 3 + random() * 4 > 1 ? 1 : 0;
  }
  return { values, rows: count, columns: FEATURES, labels };
}

async function onnxPredictions(model: Uint8Array, input: FeatureRows): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model);
  try {
    const tensor = new ort.Tensor('float32', input.values, [input.rows, input.columns]);
    const outputs = await session.run({ [ONNX_INPUT]: tensor });
    assert.deepEqual(outputs[ONNX_OUTPUT].dims, [input.rows, 1]);
    return outputs[ONNX_OUTPUT].data as Float32Array;
  } finally {
    await session.release();
  }
}

async function parity(
  params: BoosterParams,
  rounds: number,
): Promise<{ maxDifference: number; trees: number }> {
  const train = rows(2000, 7);
  const unseen = rows(300, 8);
  const trainMatrix = DMatrix.fromRows(train);
  const unseenMatrix = DMatrix.fromRows(unseen);
  const booster = Booster.create({ tree_method: 'hist', max_depth: 6, nthread: 1, ...params }, [trainMatrix]);
  try {
    for (let round = 0; round < rounds; round++) booster.updateOneIteration(round, trainMatrix);
    const expected = booster.predict(unseenMatrix);
    const ensemble = readTreeEnsemble(booster.modelJson());
    const actual = await onnxPredictions(treeEnsembleToOnnx(ensemble, 'parity'), unseen);
    let maxDifference = 0;
    for (let r = 0; r < unseen.rows; r++)
      maxDifference = Math.max(maxDifference, Math.abs(actual[r] - expected[r]));
    return { maxDifference, trees: ensemble.trees.length };
  } finally {
    booster.dispose();
    trainMatrix.dispose();
    unseenMatrix.dispose();
  }
}

describe('XGBoost → ONNX-ML TreeEnsembleRegressor', () => {
  it('matches XGBoost probabilities for binary:logistic with a non-default base score', async (t) => {
    const { maxDifference, trees } = await parity({ objective: 'binary:logistic', base_score: 0.3 }, 50);
    t.diagnostic(`max |onnx − xgboost| over 300 rows: ${maxDifference}`);
    assert.equal(trees, 50);
    assert.ok(maxDifference < 1e-5, `max |onnx − xgboost| = ${maxDifference}`);
  });

  it('matches XGBoost predictions for reg:squarederror, where base_score is a margin', async (t) => {
    const { maxDifference } = await parity({ objective: 'reg:squarederror', base_score: 0.25 }, 40);
    t.diagnostic(`max |onnx − xgboost| over 300 rows: ${maxDifference}`);
    assert.ok(maxDifference < 1e-5, `max |onnx − xgboost| = ${maxDifference}`);
  });

  it('converts a logistic base score from probability to margin as XGBoost does', () => {
    const ensemble = { trees: [], featureCount: 1, objective: 'binary:logistic', baseScore: 0.5 };
    assert.equal(Math.abs(baseMargin(ensemble)), 0);
    assert.ok(Math.abs(baseMargin({ ...ensemble, baseScore: 0.2 }) - Math.log(0.25)) < 1e-6);
    assert.equal(baseMargin({ ...ensemble, objective: 'reg:squarederror', baseScore: 0.2 }), 0.2);
  });

  it('refuses objectives whose output it would get wrong', () => {
    const json = (objective: string) =>
      JSON.stringify({
        learner: {
          learner_model_param: { base_score: '5E-1', num_feature: '1', num_class: '0' },
          objective: { name: objective },
          gradient_booster: {
            name: 'gbtree',
            model: { gbtree_model_param: { num_parallel_tree: '1' }, trees: [] },
          },
        },
      });
    assert.equal(readTreeEnsemble(json('binary:logistic')).baseScore, 0.5);
    assert.throws(() => readTreeEnsemble(json('count:poisson')), /count:poisson is not supported/);
  });
});

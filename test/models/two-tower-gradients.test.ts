import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildInteractionMatrix, indexInteractions } from '../../services/models/interaction-matrix';
import { mulberry32 } from '../../services/models/random';
import type { SideInformation } from '../../services/models/two-tower/features';
import type { TowerShapes } from '../../services/models/two-tower/graphs';
import type { Floats, Precision } from '../../services/models/two-tower/onnx-graph';
import {
  initialParameters,
  type ParameterShapes,
  type Parameters,
  parameterArrays,
  zeroParameters,
} from '../../services/models/two-tower/parameters';
import { historyWindows, TowerInputs } from '../../services/models/two-tower/tower-inputs';
import { type StepBatch, TrainingStep } from '../../services/models/two-tower/training-step';
import type { Interaction } from '../../services/models/types';

/**
 * A handful of users and items with every kind of side feature, small enough
 * to finite-difference every parameter of the whole step: feature assembly,
 * the ONNX forward/backward graph and the scatter into embedding tables.
 */
function tinyProblem() {
  const random = mulberry32(3);
  const log: Interaction[] = [];
  for (let u = 0; u < 5; u++) {
    for (let i = 0; i < 8; i++)
      if (random() < 0.5) log.push({ user: `u${u}`, item: `i${i}`, timestamp: i * 7 + u });
  }
  const side: SideInformation = {
    demographics: new Map(
      ['u0', 'u1', 'u2', 'u3'].map((u, n) => [
        u,
        { age: 15 + 12 * n, gender: n % 2 ? 'F' : 'M', occupation: n < 2 ? 'student' : 'writer' },
      ]),
    ),
    content: new Map(
      Array.from({ length: 8 }, (_, i) => [
        `i${i}`,
        {
          title: [
            'Star Wars',
            'Return of the Jedi',
            'Die Hard',
            'Die Hard 2',
            'Heat',
            'Fargo',
            'Babe',
            'Star Trek',
          ][i],
          year: i === 5 ? null : 1970 + 4 * i,
          genres: i % 2 ? ['Action'] : ['Comedy', 'Drama'],
        },
      ]),
    ),
  };
  const { users, items } = indexInteractions(log);
  const train = buildInteractionMatrix(log, users, items);
  const inputs = TowerInputs.build(train, side, { historyLength: 3, titleVocabulary: 6, embeddingDim: 3 });
  const towers: TowerShapes = {
    user: { input: inputs.layout.userWidth, hidden: 8, output: 4 },
    item: { input: inputs.layout.itemWidth, hidden: 8, output: 4 },
  };
  const shapes: ParameterShapes = {
    rows: { userId: train.nUsers, history: train.nItems, itemId: train.nItems, title: 6 },
    embeddingDim: 3,
    towers,
  };
  // Rows 0 and 1 share a user (its other positive is then a masked column); row 2 trains its item as
  // cold, row 3 its user as new.
  const entries = [0, 1, 4, 7, 9, 12];
  const entryUser = (n: number) => {
    let u = 0;
    while (train.userPtr[u + 1] <= n) u++;
    return u;
  };
  // Both history modes in one batch: odd rows pool what preceded their item.
  const rowUsers = Int32Array.from(entries, entryUser);
  const leaveOneOut = historyWindows(entries.length);
  const preceding = historyWindows(entries.length);
  inputs.trainingWindows(rowUsers, Int32Array.from(entries), 'leave-one-out', leaveOneOut);
  inputs.trainingWindows(rowUsers, Int32Array.from(entries), 'preceding', preceding);
  const history = historyWindows(entries.length);
  for (let a = 0; a < entries.length; a++) {
    const source = a % 2 ? preceding : leaveOneOut;
    history.from[a] = source.from[a];
    history.to[a] = source.to[a];
    history.skip[a] = source.skip[a];
  }
  const batch: StepBatch = {
    users: rowUsers,
    items: Int32Array.from(entries, (n) => train.userItems[n]),
    known: Uint8Array.from(entries, (_, a) => (a === 2 ? 0 : 1)),
    userKnown: Uint8Array.from(entries, (_, a) => (a === 3 ? 0 : 1)),
    history,
  };
  const logQ = Float64Array.from({ length: train.nItems }, () => Math.log(0.05 + random() * 0.2));
  const step = (precision: Precision) =>
    TrainingStep.create(inputs, train, {
      shapes: towers,
      batchSize: entries.length,
      temperature: 0.5,
      logSamplingProbability: logQ,
      precision,
      threads: 1,
    });
  return { train, inputs, shapes, batch, step };
}

function cast(p: Parameters, shapes: ParameterShapes, precision: Precision): Parameters {
  const out = zeroParameters(shapes, precision);
  parameterArrays(out).forEach((array, n) => {
    array.set(parameterArrays(p)[n]);
  });
  return out;
}

describe('two-tower training step', () => {
  it('matches central finite differences of its own loss for every parameter (float64)', async (t) => {
    const { shapes, batch, step } = tinyProblem();
    const training = await step('float64');
    const p = initialParameters(shapes, 'float64', mulberry32(11), 0.5);
    const grad = zeroParameters(shapes, 'float64');
    const scratch = zeroParameters(shapes, 'float64');
    await training.run(p, batch, grad);

    const h = 1e-6;
    let worst = 0;
    let checked = 0;
    const analytic = parameterArrays(grad);
    for (const [n, values] of parameterArrays(p).entries()) {
      for (let k = 0; k < values.length; k++) {
        const saved = values[k];
        values[k] = saved + h;
        const up = await training.run(p, batch, scratch);
        values[k] = saved - h;
        const down = await training.run(p, batch, scratch);
        values[k] = saved;
        const numeric = (up - down) / (2 * h);
        const error =
          Math.abs(numeric - analytic[n][k]) / Math.max(1e-3, Math.abs(numeric) + Math.abs(analytic[n][k]));
        worst = Math.max(worst, error);
        checked++;
      }
    }
    t.diagnostic(`worst relative error ${worst.toExponential(2)} over ${checked} coordinates`);
    assert.ok(checked > 300, `checked ${checked} coordinates`);
    assert.ok(worst < 1e-6, `worst relative error ${worst.toExponential(2)} over ${checked} coordinates`);
  });

  it('float32 graph agrees with the float64 one to float32 precision', async (t) => {
    const { shapes, batch, step } = tinyProblem();
    const p64 = initialParameters(shapes, 'float64', mulberry32(11), 0.5);
    const p32 = cast(p64, shapes, 'float32');
    const g64 = zeroParameters(shapes, 'float64');
    const g32 = zeroParameters(shapes, 'float32');
    const loss64 = await (await step('float64')).run(p64, batch, g64);
    const loss32 = await (await step('float32')).run(p32, batch, g32);
    assert.ok(Math.abs(loss64 - loss32) < 1e-5, `loss ${loss64} vs ${loss32}`);
    const a: Floats[] = parameterArrays(g64);
    const b: Floats[] = parameterArrays(g32);
    let worst = 0;
    for (let n = 0; n < a.length; n++)
      for (let k = 0; k < a[n].length; k++) worst = Math.max(worst, Math.abs(a[n][k] - b[n][k]));
    t.diagnostic(
      `max |float32 − float64| gradient ${worst.toExponential(2)}, loss ${Math.abs(loss64 - loss32).toExponential(2)}`,
    );
    assert.ok(worst < 1e-5, `max gradient difference ${worst}`);
  });
});

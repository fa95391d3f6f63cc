import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { buildInteractionMatrix, indexInteractions } from '../../services/models/interaction-matrix';
import { ageBand } from '../../services/models/popularity';
import { mulberry32 } from '../../services/models/random';
import type { SideInformation } from '../../services/models/two-tower/features';
import type { TowerShape, TowerWeights } from '../../services/models/two-tower/graphs';
import { TwoTower } from '../../services/models/two-tower/model';
import { NewUserTower } from '../../services/models/two-tower/new-users';
import type { Floats } from '../../services/models/two-tower/onnx-graph';
import type { Demographics, Interaction } from '../../services/models/types';

const d = 8;

/** features → Dense+ReLU → Dense → L2 normalisation, in float64, straight from the weights. */
function forward(shape: TowerShape, w: TowerWeights, x: Float64Array): Float64Array {
  const h = new Float64Array(shape.hidden);
  for (let j = 0; j < shape.hidden; j++) {
    let sum = w.b1[j];
    for (let i = 0; i < shape.input; i++) sum += x[i] * w.w1[i * shape.hidden + j];
    h[j] = Math.max(0, sum);
  }
  const z = new Float64Array(shape.output);
  for (let j = 0; j < shape.output; j++) {
    let sum = w.b2[j];
    for (let i = 0; i < shape.hidden; i++) sum += h[i] * w.w2[i * shape.output + j];
    z[j] = sum;
  }
  const norm = Math.sqrt(z.reduce((s, v) => s + v * v, 0) + 1e-12);
  return z.map((v) => v / norm);
}

function meanRows(table: Floats, rows: readonly number[]): Float64Array {
  const out = new Float64Array(d);
  for (const r of rows) for (let k = 0; k < d; k++) out[k] += table[r * d + k] / rows.length;
  return out;
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let n = 0; n < a.length; n++) worst = Math.max(worst, Math.abs(a[n] - b[n]));
  return worst;
}

describe('two-tower export parity (ONNX vs a TypeScript forward pass)', () => {
  let model: TwoTower;
  let side: SideInformation;
  const random = mulberry32(3);
  const log: Interaction[] = [];
  const demographics = new Map<string, Demographics>();
  const content = new Map<string, { title: string; year: number | null; genres: string[] }>();

  before(async () => {
    for (let i = 0; i < 40; i++)
      content.set(`i${i}`, {
        title: `film ${i} part ${i % 5}`,
        year: i % 7 === 0 ? null : 1960 + i,
        genres: [['Drama'], ['Comedy', 'Romance'], ['Action']][i % 3],
      });
    for (let u = 0; u < 30; u++) {
      demographics.set(`u${u}`, {
        age: 15 + u * 2,
        gender: u % 2 ? 'F' : 'M',
        occupation: ['writer', 'student', 'engineer'][u % 3],
      });
      for (let t = 0; t < 8; t++)
        log.push({ user: `u${u}`, item: `i${Math.floor(random() * 40)}`, timestamp: 100 * u + t });
    }
    side = { demographics, content };
    const { users, items } = indexInteractions(log);
    model = new TwoTower(
      {
        embeddingDim: d,
        hiddenDim: 12,
        outputDim: d,
        temperature: 0.2,
        learningRate: 0.01,
        epochs: 3,
        batchSize: 32,
        historyLength: 4,
        trainingHistory: 'leave-one-out',
        itemIdDropout: 0.3,
        userIdDropout: 0.3,
        newUserHistory: 3,
        threads: 1,
      },
      side,
    );
    await model.fit(buildInteractionMatrix(log, users, items));
  });

  it('the exported user tower gives a fitted user what the forward pass gives id, history and demographics', async () => {
    const { inputs, shapes, parameters } = model.fitted;
    const server = await model.towerServer();
    const user = 4;
    const history = Array.from(inputs.servingHistory(user));
    const demographicsRow = inputs.demographics.subarray(
      user * inputs.layout.demographicsWidth,
      (user + 1) * inputs.layout.demographicsWidth,
    );
    const x = Float64Array.from([
      ...parameters.embeddings.userId.subarray(user * d, (user + 1) * d),
      ...meanRows(parameters.embeddings.history, history),
      ...demographicsRow,
    ]);
    const expected = forward(shapes.user, parameters.towers.user, x);
    const exported = await server.embedUsers(Int32Array.of(user));
    assert.ok(
      maxAbsDifference(exported, expected) <= 1e-5,
      `differs by ${maxAbsDifference(exported, expected)}`,
    );
  });

  it('a new user through the exported tower is the forward pass with a zero id, their items and their cohort', async () => {
    const { inputs, shapes, parameters } = model.fitted;
    const tower = await NewUserTower.load(model.exportTowers().user, {
      vocabulary: inputs.vocabulary,
      newUserIndex: inputs.demographics.length / inputs.layout.demographicsWidth,
      historyLength: 4,
    });
    try {
      const person = { age: 33, gender: 'F', occupation: 'student' };
      const cases = [
        {
          history: [] as number[],
          cohort: { band: ageBand(person.age), gender: 'F', occupation: 'student' },
        },
        { history: [7, 2, 9], cohort: { gender: 'M' } },
        { history: [1, 2, 3, 4, 5, 6], cohort: undefined },
      ];
      const vectors = await tower.embed(cases);
      for (const [r, c] of cases.entries()) {
        const demographicsRow = new Float32Array(inputs.layout.demographicsWidth);
        inputs.vocabulary.encodeCohort(c.cohort, demographicsRow, 0);
        // The tower pools the newest `historyLength` items, as training did.
        const pooled =
          c.history.length === 0
            ? new Float64Array(d)
            : meanRows(parameters.embeddings.history, c.history.slice(0, 4));
        const x = Float64Array.from([...new Float64Array(d), ...pooled, ...demographicsRow]);
        const expected = forward(shapes.user, parameters.towers.user, x);
        const got = vectors.subarray(r * d, (r + 1) * d);
        assert.ok(
          maxAbsDifference(got, expected) <= 1e-5,
          `case ${r} differs by ${maxAbsDifference(got, expected)}`,
        );
      }
      const full = new Float32Array(inputs.layout.demographicsWidth);
      inputs.vocabulary.encodeDemographics(person, full, 0);
      const fromCohort = new Float32Array(inputs.layout.demographicsWidth);
      inputs.vocabulary.encodeCohort(cases[0].cohort, fromCohort, 0);
      assert.deepEqual(fromCohort, full, 'the cohort encodes as the demographics it came from');
    } finally {
      await tower.release();
    }
  });

  it('the exported item tower gives a catalogue item what the forward pass gives id, content and title', async () => {
    const { inputs, shapes, parameters } = model.fitted;
    const server = await model.towerServer();
    const item = 5;
    const width = inputs.layout.contentWidth;
    const titles = Array.from(
      inputs.titles.values.subarray(inputs.titles.ptr[item], inputs.titles.ptr[item + 1]),
    );
    const x = Float64Array.from([
      ...parameters.embeddings.itemId.subarray(item * d, (item + 1) * d),
      1,
      ...inputs.content.subarray(item * width, (item + 1) * width),
      ...meanRows(parameters.embeddings.title, titles),
    ]);
    const expected = forward(shapes.item, parameters.towers.item, x);
    const exported = await server.embedItems(Int32Array.of(item));
    assert.ok(
      maxAbsDifference(exported, expected) <= 1e-5,
      `differs by ${maxAbsDifference(exported, expected)}`,
    );
  });
});

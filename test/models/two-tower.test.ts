import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { topK } from '../../services/evaluation/topk';
import {
  buildInteractionMatrix,
  type InteractionMatrix,
  indexInteractions,
  itemsOfUser,
} from '../../services/models/interaction-matrix';
import { mulberry32 } from '../../services/models/random';
import {
  FeatureVocabulary,
  type ItemContent,
  type SideInformation,
  titleTokens,
  YEAR_BUCKETS,
  yearBucket,
} from '../../services/models/two-tower/features';
import { LAYER_WEIGHTS, towerGraph, weightName, weightShape } from '../../services/models/two-tower/graphs';
import { TwoTower } from '../../services/models/two-tower/model';
import type { Floats } from '../../services/models/two-tower/onnx-graph';
import type { Demographics, Interaction } from '../../services/models/types';

const CLUSTERS = [
  { genres: ['Animation', "Children's"], word: 'toy', occupation: 'student', age: 12 },
  { genres: ['Horror', 'Thriller'], word: 'night', occupation: 'programmer', age: 28 },
  { genres: ['Romance', 'Drama'], word: 'love', occupation: 'writer', age: 45 },
  { genres: ['Western', 'Action'], word: 'gun', occupation: 'retired', age: 65 },
];
const ITEMS = 80;
const USERS = 160;

const clusterOfItem = (i: number) => i % CLUSTERS.length;

/**
 * Four taste clusters. An item's cluster shows in its genres and a shared
 * title word; its own title word is unique. Users pick 90% of their items
 * from their cluster with a popularity skew, and their demographics follow
 * the cluster.
 */
function clusteredCatalogue() {
  const random = mulberry32(17);
  const content = new Map<string, ItemContent>();
  for (let i = 0; i < ITEMS; i++) {
    const c = CLUSTERS[clusterOfItem(i)];
    content.set(`i${i}`, { title: `${c.word} story ${i} part${i}`, year: 1960 + (i % 37), genres: c.genres });
  }
  const demographics = new Map<string, Demographics>();
  const log: Interaction[] = [];
  for (let u = 0; u < USERS; u++) {
    const c = u % CLUSTERS.length;
    demographics.set(`u${u}`, {
      age: CLUSTERS[c].age,
      gender: u % 3 ? 'M' : 'F',
      occupation: CLUSTERS[c].occupation,
    });
    const seen = new Set<number>();
    for (let t = 0; seen.size < 14; t++) {
      const cluster = random() < 0.9 ? c : Math.floor(random() * CLUSTERS.length);
      // Squaring a uniform skews picks toward low ranks: a few popular items per cluster.
      const rank = Math.floor(random() ** 2 * (ITEMS / CLUSTERS.length));
      const item = rank * CLUSTERS.length + cluster;
      if (!seen.has(item)) log.push({ user: `u${u}`, item: `i${item}`, timestamp: 1000 * u + t });
      seen.add(item);
    }
  }
  const side: SideInformation = { demographics, content };
  const { users, items } = indexInteractions(log);
  return { side, train: buildInteractionMatrix(log, users, items) };
}

function cosineRow(vectors: Floats, row: number, query: Floats, d: number): number {
  let dot = 0;
  for (let k = 0; k < d; k++) dot += vectors[row * d + k] * query[k];
  return dot;
}

function maxAbsDifference(a: Floats, b: Floats): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let n = 0; n < a.length; n++) worst = Math.max(worst, Math.abs(a[n] - b[n]));
  return worst;
}

describe('two-tower features', () => {
  it('hashes title words so sequels share tokens, without stopwords or the trailing year', () => {
    const vocabulary = 1024;
    assert.deepEqual(titleTokens('Die Hard 2 (1990)', vocabulary), titleTokens('die hard 2', vocabulary));
    assert.deepEqual(titleTokens('Die Hard', vocabulary), titleTokens('Die Hard 2', vocabulary).slice(0, 2));
    assert.deepEqual(
      titleTokens('Usual Suspects, The', vocabulary),
      titleTokens('Usual Suspects', vocabulary),
    );
    assert.ok(titleTokens('Star Wars', vocabulary).every((t) => t >= 0 && t < vocabulary));
  });

  it('buckets years coarsely before 1990, per year after, with one bucket for unknown', () => {
    assert.equal(yearBucket(1925), 0);
    assert.equal(yearBucket(1955), yearBucket(1959));
    assert.notEqual(yearBucket(1996), yearBucket(1997));
    assert.equal(yearBucket(null), YEAR_BUCKETS - 1);
    assert.ok(yearBucket(2030) < YEAR_BUCKETS - 1);
  });

  it('one-hot encodes demographics and multi-hot genres; missing side information stays zero', () => {
    const vocabulary = FeatureVocabulary.of({
      demographics: new Map([
        ['1', { age: 24, gender: 'M', occupation: 'technician' }],
        ['2', { age: 53, gender: 'F', occupation: 'other' }],
      ]),
      content: new Map([['7', { title: 'Heat', year: 1995, genres: ['Action', 'Crime'] }]]),
    });
    const people = new Float32Array(vocabulary.demographicsWidth);
    vocabulary.encodeDemographics({ age: 53, gender: 'F', occupation: 'other' }, people, 0);
    assert.equal(
      people.reduce((a, b) => a + b),
      3,
    );
    vocabulary.encodeDemographics(undefined, people, 0);
    assert.ok(people.every((v) => v === 0));
    const film = new Float32Array(vocabulary.contentWidth);
    vocabulary.encodeContent({ title: 'Heat', year: 1995, genres: ['Crime', 'Action'] }, film, 0);
    assert.deepEqual(Array.from(film.subarray(0, 2)), [1, 1]);
    assert.equal(film[2 + yearBucket(1995)], 1);
    assert.equal(
      film.reduce((a, b) => a + b),
      3,
    );
  });
});

describe('TwoTower', () => {
  let train: InteractionMatrix;
  let side: SideInformation;
  let model: TwoTower;
  const d = 16;

  before(async () => {
    ({ train, side } = clusteredCatalogue());
    model = new TwoTower(
      {
        embeddingDim: 16,
        hiddenDim: 32,
        outputDim: d,
        temperature: 0.2,
        learningRate: 0.01,
        epochs: 80,
        batchSize: 256,
        historyLength: 10,
        trainingHistory: 'leave-one-out',
        itemIdDropout: 0.5,
        titleVocabulary: 512,
        threads: 1,
      },
      side,
    );
    await model.fit(train);
  });

  it('learns: training loss falls and recommendations stay within the user’s cluster', (t) => {
    const losses = model.fitted.epochLosses;
    assert.ok(losses.at(-1)! < losses[0] - 0.5, `epoch losses ${losses[0]} → ${losses.at(-1)}`);
    const scores = new Float32Array(train.nItems);
    let inCluster = 0;
    let total = 0;
    for (let u = 0; u < train.nUsers; u++) {
      const cluster = Number(train.users.ids[u].slice(1)) % CLUSTERS.length;
      model.scoreUser(u, scores);
      for (const i of topK(scores, 5, itemsOfUser(train, u))) {
        if (clusterOfItem(Number(train.items.ids[i].slice(1))) === cluster) inCluster++;
        total++;
      }
    }
    t.diagnostic(`in-cluster share ${(inCluster / total).toFixed(3)}`);
    assert.ok(inCluster / total > 0.85, `in-cluster share of top-5: ${(inCluster / total).toFixed(3)}`);
  });

  it('exports both towers as opset-17 ONNX models that reproduce the training-time vectors', async (t) => {
    const towers = model.exportTowers();
    for (const bytes of [towers.user, towers.item]) {
      const decoded = onnx.ModelProto.decode(bytes);
      assert.deepEqual(
        decoded.opsetImport.map((o) => [o.domain, Number(o.version)]),
        [['', 17]],
      );
    }
    const server = await model.towerServer();
    const all = (n: number) => Int32Array.from({ length: n }, (_, k) => k);
    const userDiff = maxAbsDifference(await server.embedUsers(all(train.nUsers)), model.fitted.userVectors);
    const itemDiff = maxAbsDifference(await server.embedItems(all(train.nItems)), model.fitted.itemVectors);
    t.diagnostic(
      `max |exported − training forward|: users ${userDiff.toExponential(2)}, items ${itemDiff.toExponential(2)}`,
    );
    assert.ok(userDiff <= 1e-5, `user tower differs by ${userDiff}`);
    assert.ok(itemDiff <= 1e-5, `item tower differs by ${itemDiff}`);
  });

  it('embeds an item from content alone exactly as training saw an id-dropped row', async (t) => {
    const { inputs, shapes, parameters } = model.fitted;
    const item = 5;
    const features = new Float32Array(shapes.item.input);
    inputs.assembleItems(parameters, Int32Array.of(item), Uint8Array.of(0), features);
    const session = await ort.InferenceSession.create(towerGraph('item', shapes.item, 'float32'));
    const feeds: Record<string, ort.Tensor> = {
      features: new ort.Tensor('float32', features, [1, shapes.item.input]),
    };
    for (const weight of LAYER_WEIGHTS) {
      feeds[weightName('item', weight)] = new ort.Tensor(
        'float32',
        parameters.towers.item[weight],
        weightShape(shapes.item, weight),
      );
    }
    const training = (await session.run(feeds)).vector.data as Float32Array;
    const cold = await model.embedItemFromContent(side.content.get(train.items.ids[item])!);
    const diff = maxAbsDifference(cold, training);
    t.diagnostic(`max |exported cold − training forward without id|: ${diff.toExponential(2)}`);
    assert.ok(diff <= 1e-5, `cold path differs by ${diff}`);
  });

  it('places a cold copy of a popular item next to the original', async (t) => {
    const { itemVectors } = model.fitted;
    const popular = Array.from({ length: train.nItems }, (_, i) => i)
      .sort((a, b) => train.itemPtr[b + 1] - train.itemPtr[b] - (train.itemPtr[a + 1] - train.itemPtr[a]))
      .slice(0, 4);
    for (const original of popular) {
      const id = train.items.ids[original];
      const cold = await model.embedItemFromContent(side.content.get(id)!);
      const similarity = (i: number) => cosineRow(itemVectors, i, cold, d);
      const rank = Array.from({ length: train.nItems }, (_, i) => i).filter(
        (i) => similarity(i) > similarity(original),
      ).length;
      const neighbours = Array.from({ length: train.nItems }, (_, i) => i)
        .sort((a, b) => similarity(b) - similarity(a))
        .slice(0, 10);
      const sameCluster = neighbours.filter(
        (i) => clusterOfItem(Number(train.items.ids[i].slice(1))) === clusterOfItem(Number(id.slice(1))),
      ).length;
      t.diagnostic(
        `${id}: original ranks ${rank + 1}/${train.nItems}, cosine ${similarity(original).toFixed(3)}, ${sameCluster}/10 neighbours in its cluster`,
      );
      assert.ok(rank < 3, `${id}: the original ranks ${rank + 1} among the cold copy's neighbours`);
      assert.ok(sameCluster >= 8, `${id}: ${sameCluster}/10 nearest items share its cluster`);
    }
  });
});

import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import type { InteractionMatrix } from '../interaction-matrix';
import { openOnnxSession } from '../onnx-session';
import { mulberry32 } from '../random';
import type { CandidateModel } from '../types';
import { Adam } from './adam';
import type { ItemContent, SideInformation } from './features';
import {
  exportItemTower,
  exportUserTower,
  LAYER_WEIGHTS,
  type Tower,
  type TowerShapes,
  towerGraph,
  weightName,
  weightShape,
} from './graphs';
import type { Floats } from './onnx-graph';
import {
  EMBEDDING_TABLES,
  initialParameters,
  type Parameters,
  parameterArrays,
  zeroParameters,
} from './parameters';
import { type ExportedTowers, TowerServer } from './serving';
import { type HistoryWindows, historyWindows, TowerInputs, type TrainingHistory } from './tower-inputs';
import { floats, TrainingStep } from './training-step';

export interface TwoTowerParams {
  /** Width of every embedding table (user id, history item, item id, title word). */
  embeddingDim: number;
  hiddenDim: number;
  /** Width of the L2-normalised user and item vectors. */
  outputDim: number;
  /** Softmax temperature on cosine scores; small values sharpen the in-batch softmax. */
  temperature: number;
  learningRate: number;
  epochs: number;
  /**
   * An epoch trains on at most this many rows, drawn afresh each epoch; without it, every row.
   * A pass over a 10M-event snapshot is ~10k steps, each of which costs tens of milliseconds.
   */
  epochRows?: number;
  /** Positives per step, and so in-batch negatives per positive minus one. */
  batchSize: number;
  /** How many of a user's latest training items are mean-pooled into the user tower. */
  historyLength: number;
  /** Which items a training row pools as its user's history; see `TrainingHistory`. */
  trainingHistory: TrainingHistory;
  /**
   * Share of training rows whose item goes through the tower without its id
   * embedding, so the content path alone learns to place items (cold start).
   */
  itemIdDropout: number;
  /**
   * Share of training rows whose user goes through the tower without its id embedding, so
   * demographics and history alone learn to place a user the model never saw (a new user).
   */
  userIdDropout?: number;
  /**
   * A row trained as a new user pools a window of 0..newUserHistory of its items (uniformly),
   * as a user a few interactions old would be served; without it, the usual window.
   */
  newUserHistory?: number;
  /** Hash buckets for title words. */
  titleVocabulary?: number;
  seed?: number;
  /** onnxruntime intra-op threads; defaults to every core. */
  threads?: number;
}

const DEFAULT_TITLE_VOCABULARY = 1024;

/** Everything `fit` learns; vectors are from the training-time forward pass. */
export interface FittedTwoTower {
  inputs: TowerInputs;
  shapes: TowerShapes;
  parameters: Parameters;
  /** [nUsers × outputDim] */
  userVectors: Floats;
  /** [nItems × outputDim] */
  itemVectors: Floats;
  /** Mean training loss of each epoch. */
  epochLosses: number[];
}

/**
 * Two-tower retrieval (Yi et al. 2019; Covington et al. 2016 for the pooled
 * history): user = id + demographics + recent history, item = id + genres +
 * year + title words; score = cosine. Trained with an in-batch sampled softmax
 * with logQ correction and Adam; the dense passes run as one ONNX graph.
 */
export class TwoTower implements CandidateModel {
  readonly name = 'two-tower';
  private state: FittedTwoTower | undefined;
  private server: Promise<TowerServer> | undefined;

  constructor(
    readonly params: TwoTowerParams,
    private readonly side: SideInformation,
  ) {}

  get fitted(): FittedTwoTower {
    if (!this.state) throw new Error('two-tower: fit() has not run');
    return this.state;
  }

  async fit(train: InteractionMatrix): Promise<void> {
    const p = this.params;
    const random = mulberry32(p.seed ?? 1);
    const threads = p.threads ?? availableParallelism();
    const inputs = TowerInputs.build(train, this.side, {
      historyLength: p.historyLength,
      titleVocabulary: p.titleVocabulary ?? DEFAULT_TITLE_VOCABULARY,
      embeddingDim: p.embeddingDim,
    });
    const shapes: TowerShapes = {
      user: { input: inputs.layout.userWidth, hidden: p.hiddenDim, output: p.outputDim },
      item: { input: inputs.layout.itemWidth, hidden: p.hiddenDim, output: p.outputDim },
    };
    const parameterShapes = {
      rows: {
        userId: train.nUsers,
        history: train.nItems,
        itemId: train.nItems,
        title: inputs.titleVocabulary,
      },
      embeddingDim: p.embeddingDim,
      towers: shapes,
    };
    const parameters = initialParameters(parameterShapes, 'float32', random);
    const gradients = zeroParameters(parameterShapes, 'float32');
    const adam = new Adam(parameterArrays(parameters), { learningRate: p.learningRate });
    const batchSize = Math.min(p.batchSize, train.nnz);
    const step = await TrainingStep.create(inputs, train, {
      shapes,
      batchSize,
      temperature: p.temperature,
      logSamplingProbability: logSamplingProbability(train),
      precision: 'float32',
      threads,
    });

    const entryUser = new Int32Array(train.nnz);
    for (let u = 0; u < train.nUsers; u++) entryUser.fill(u, train.userPtr[u], train.userPtr[u + 1]);
    const order = Int32Array.from({ length: train.nnz }, (_, n) => n);
    const entries = new Int32Array(batchSize);
    const batch = {
      users: new Int32Array(batchSize),
      items: new Int32Array(batchSize),
      known: new Uint8Array(batchSize),
      userKnown: new Uint8Array(batchSize).fill(1),
      history: historyWindows(batchSize),
    };
    const stepsPerEpoch = Math.floor(Math.min(train.nnz, p.epochRows ?? train.nnz) / batchSize);
    const touched = EMBEDDING_TABLES.map((table) => step.touched[table]);
    const userIdDropout = p.userIdDropout ?? 0;
    const epochLosses: number[] = [];
    try {
      for (let epoch = 0; epoch < p.epochs; epoch++) {
        shuffle(order, random);
        let lossSum = 0;
        for (let s = 0; s < stepsPerEpoch; s++) {
          for (let a = 0; a < batchSize; a++) {
            const entry = order[s * batchSize + a];
            entries[a] = entry;
            batch.users[a] = entryUser[entry];
            batch.items[a] = train.userItems[entry];
            batch.known[a] = random() < p.itemIdDropout ? 0 : 1;
            // Drawn only when asked for, so fits without it keep their random sequence.
            if (userIdDropout > 0) batch.userKnown[a] = random() < userIdDropout ? 0 : 1;
          }
          inputs.trainingWindows(batch.users, entries, p.trainingHistory, batch.history);
          if (p.newUserHistory !== undefined) shortenNewUserWindows(batch, p.newUserHistory, random);
          lossSum += await step.run(parameters, batch, gradients);
          adam.step(parameterArrays(gradients), touched);
        }
        epochLosses.push(lossSum / stepsPerEpoch);
      }
    } finally {
      await step.release();
    }

    const everyone = range(train.nUsers);
    const served = historyWindows(train.nUsers);
    inputs.servingWindows(everyone, served);
    const userVectors = await towerForward(
      'user',
      shapes,
      parameters,
      threads,
      train.nUsers,
      (from, to, out) =>
        inputs.assembleUsers(
          parameters,
          everyone.subarray(from, to),
          {
            from: served.from.subarray(from, to),
            to: served.to.subarray(from, to),
            skip: served.skip.subarray(from, to),
          },
          undefined,
          out,
        ),
    );
    const items = range(train.nItems);
    const itemVectors = await towerForward(
      'item',
      shapes,
      parameters,
      threads,
      train.nItems,
      (from, to, out) => inputs.assembleItems(parameters, items.subarray(from, to), undefined, out),
    );
    this.state = { inputs, shapes, parameters, userVectors, itemVectors, epochLosses };
    this.server = undefined;
  }

  scoreUser(user: number, out: Float32Array): void {
    const { userVectors, itemVectors } = this.fitted;
    const d = this.params.outputDim;
    const u = user * d;
    for (let i = 0; i < out.length; i++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += userVectors[u + k] * itemVectors[i * d + k];
      out[i] = dot;
    }
  }

  /** Both towers as standalone ONNX models (opset 17) with the fitted weights and tables baked in. */
  exportTowers(): ExportedTowers {
    const { inputs, shapes, parameters } = this.fitted;
    return {
      user: exportUserTower({
        shape: shapes.user,
        weights: parameters.towers.user,
        userEmbeddings: parameters.embeddings.userId,
        historyEmbeddings: parameters.embeddings.history,
        embeddingDim: this.params.embeddingDim,
        demographicsWidth: inputs.layout.demographicsWidth,
      }),
      item: exportItemTower({
        shape: shapes.item,
        weights: parameters.towers.item,
        itemEmbeddings: parameters.embeddings.itemId,
        titleEmbeddings: parameters.embeddings.title,
        embeddingDim: this.params.embeddingDim,
        contentWidth: inputs.layout.contentWidth,
      }),
    };
  }

  /** The exported towers, loaded once per fit. */
  towerServer(): Promise<TowerServer> {
    this.server ??= TowerServer.load(this.exportTowers(), this.fitted.inputs);
    return this.server;
  }

  /** Vector of an item from its content alone (no id embedding), comparable with fitted item vectors. */
  async embedItemFromContent(content: ItemContent): Promise<Floats> {
    const server = await this.towerServer();
    return server.embedColdItems([content]);
  }
}

/**
 * Each item's share of training positives: how often in-batch sampling draws
 * it. An item without positives is never drawn; the floor only keeps its log finite.
 */
function logSamplingProbability(train: InteractionMatrix): Float64Array {
  return Float64Array.from({ length: train.nItems }, (_, i) =>
    Math.log(Math.max(1, train.itemPtr[i + 1] - train.itemPtr[i]) / train.nnz),
  );
}

/** The skipped target may fall inside the shortened window, which then pools one item fewer. */
function shortenNewUserWindows(
  batch: { userKnown: Uint8Array; history: HistoryWindows },
  longest: number,
  random: () => number,
): void {
  const { from, to } = batch.history;
  for (let a = 0; a < batch.userKnown.length; a++) {
    if (batch.userKnown[a]) continue;
    to[a] = Math.min(to[a], from[a] + Math.floor(random() * (longest + 1)));
  }
}

function range(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, k) => k);
}

function shuffle(values: Int32Array, random: () => number): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = values[i];
    values[i] = values[j];
    values[j] = tmp;
  }
}

/** Feature rows per forward run: a million items' rows at once would be ~600 MB of input. */
const FORWARD_ROWS = 65_536;

/**
 * The forward half of the training graph over `rows` feature rows, `assemble` writing rows
 * [from, to) at a time.
 */
async function towerForward(
  tower: Tower,
  shapes: TowerShapes,
  parameters: Parameters,
  threads: number,
  rows: number,
  assemble: (from: number, to: number, out: Float32Array) => void,
): Promise<Floats> {
  const shape = shapes[tower];
  const session = await openOnnxSession(towerGraph(tower, shape, 'float32'), {
    intraOpNumThreads: threads,
  });
  const weights: Record<string, ort.Tensor> = {};
  for (const weight of LAYER_WEIGHTS) {
    weights[weightName(tower, weight)] = new ort.Tensor(
      'float32',
      parameters.towers[tower][weight],
      weightShape(shape, weight),
    );
  }
  const vectors = new Float32Array(rows * shape.output);
  const features = new Float32Array(Math.min(rows, FORWARD_ROWS) * shape.input);
  try {
    for (let from = 0; from < rows; from += FORWARD_ROWS) {
      const to = Math.min(rows, from + FORWARD_ROWS);
      const chunk = features.subarray(0, (to - from) * shape.input);
      assemble(from, to, chunk);
      const out = await session.run({
        ...weights,
        features: new ort.Tensor('float32', chunk, [to - from, shape.input]),
      });
      vectors.set(floats(out.vector), from * shape.output);
    }
    return vectors;
  } finally {
    await session.release();
  }
}

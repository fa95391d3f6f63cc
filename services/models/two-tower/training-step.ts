import * as ort from 'onnxruntime-node';
import type { InteractionMatrix } from '../interaction-matrix';
import { type OnnxSession, openOnnxSession } from '../onnx-session';
import {
  gradientName,
  LAYER_WEIGHTS,
  TOWERS,
  type TowerShapes,
  trainingStepGraph,
  weightName,
  weightShape,
} from './graphs';
import { allocate, type Floats, type Precision } from './onnx-graph';
import { EMBEDDING_TABLES, type EmbeddingTable, type Parameters } from './parameters';
import { RowSet } from './row-set';
import type { HistoryWindows, TowerInputs } from './tower-inputs';

/**
 * Row a pairs users[a], seen through `history` window a, with its positive
 * items[a]; known[a] = 0 trains row a's item as cold, userKnown[a] = 0 its user as new.
 */
export interface StepBatch {
  users: Int32Array;
  items: Int32Array;
  known: Uint8Array;
  userKnown: Uint8Array;
  history: HistoryWindows;
}

/**
 * Logit of a column that is a known positive of the row's user: it must not
 * be pushed down as a negative. Large enough that exp() underflows to zero.
 */
const EXCLUDED_LOGIT = -1e4;

export interface TrainingStepOptions {
  shapes: TowerShapes;
  batchSize: number;
  temperature: number;
  /**
   * Log of each item's chance to appear as an in-batch negative (its share of
   * training positives). Subtracting it corrects the sampled softmax toward
   * the full one (Yi et al. 2019); popular items would otherwise be
   * over-penalised for being sampled more often.
   */
  logSamplingProbability: Float64Array;
  precision: Precision;
  threads: number;
}

/** Loss and gradients of every parameter for one batch, through the training graph. */
export class TrainingStep {
  /** The embedding rows the last batch's gradient touched: the only rows `run` wrote. */
  readonly touched: Record<EmbeddingTable, RowSet>;
  private readonly userFeatures: Floats;
  private readonly itemFeatures: Floats;
  private readonly offset: Floats;
  private readonly columnsOfItem: Int32Array;
  private readonly nextColumn: Int32Array;

  private constructor(
    private readonly session: OnnxSession,
    private readonly inputs: TowerInputs,
    private readonly train: InteractionMatrix,
    private readonly options: TrainingStepOptions,
  ) {
    const { batchSize: b, precision } = options;
    this.userFeatures = allocate(precision, b * inputs.layout.userWidth);
    this.itemFeatures = allocate(precision, b * inputs.layout.itemWidth);
    this.offset = allocate(precision, b * b);
    this.columnsOfItem = new Int32Array(train.nItems).fill(-1);
    this.nextColumn = new Int32Array(b);
    const d = inputs.layout.embeddingDim;
    const rows: Record<EmbeddingTable, number> = {
      userId: train.nUsers,
      history: train.nItems,
      itemId: train.nItems,
      title: inputs.titleVocabulary,
    };
    this.touched = Object.fromEntries(
      EMBEDDING_TABLES.map((table) => [table, new RowSet(rows[table], d)]),
    ) as Record<EmbeddingTable, RowSet>;
  }

  static async create(
    inputs: TowerInputs,
    train: InteractionMatrix,
    options: TrainingStepOptions,
  ): Promise<TrainingStep> {
    const graph = trainingStepGraph(
      options.shapes,
      options.batchSize,
      options.temperature,
      options.precision,
    );
    const session = await openOnnxSession(graph, {
      intraOpNumThreads: options.threads,
      interOpNumThreads: 1,
      // Spinning pool threads would keep a core busy while the main thread
      // assembles the next batch; on two cores that halves the JS side.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
    return new TrainingStep(session, inputs, train, options);
  }

  /**
   * Overwrites `grad`'s dense weights and its embedding rows in `touched` with the batch's
   * gradients (its other embedding rows are left as they were) and returns the mean loss.
   */
  async run(p: Parameters, batch: StepBatch, grad: Parameters): Promise<number> {
    const { batchSize: b, precision, shapes } = this.options;
    const { userWidth, itemWidth } = this.inputs.layout;
    this.inputs.assembleUsers(p, batch.users, batch.history, batch.userKnown, this.userFeatures);
    this.inputs.assembleItems(p, batch.items, batch.known, this.itemFeatures);
    this.fillOffset(batch);

    const feeds: Record<string, ort.Tensor> = {
      user_features: new ort.Tensor(precision, this.userFeatures, [b, userWidth]),
      item_features: new ort.Tensor(precision, this.itemFeatures, [b, itemWidth]),
      logit_offset: new ort.Tensor(precision, this.offset, [b, b]),
    };
    for (const tower of TOWERS) {
      for (const weight of LAYER_WEIGHTS) {
        feeds[weightName(tower, weight)] = new ort.Tensor(
          precision,
          p.towers[tower][weight],
          weightShape(shapes[tower], weight),
        );
      }
    }
    const out = await this.session.run(feeds);
    for (const tower of TOWERS) {
      for (const weight of LAYER_WEIGHTS)
        grad.towers[tower][weight].set(floats(out[gradientName(tower, weight)]));
    }
    for (const table of EMBEDDING_TABLES) this.touched[table].clear();
    this.inputs.scatterUsers(
      grad,
      batch.users,
      batch.history,
      batch.userKnown,
      floats(out['grad.user_features']),
      this.touched,
    );
    this.inputs.scatterItems(grad, batch.items, batch.known, floats(out['grad.item_features']), this.touched);
    return Number(out.loss.data[0]);
  }

  release(): Promise<void> {
    return this.session.release();
  }

  /** −logQ of each column's item; known positives of the row's user are excluded, except the row's own. */
  private fillOffset(batch: StepBatch): void {
    const b = this.options.batchSize;
    const { logSamplingProbability } = this.options;
    const offset = this.offset;
    const columnsOfItem = this.columnsOfItem;
    const nextColumn = this.nextColumn;
    const { userPtr, userItems } = this.train;
    for (let j = 0; j < b; j++) offset[j] = -logSamplingProbability[batch.items[j]];
    for (let a = 1; a < b; a++) offset.copyWithin(a * b, 0, b);
    for (let j = b - 1; j >= 0; j--) {
      nextColumn[j] = columnsOfItem[batch.items[j]];
      columnsOfItem[batch.items[j]] = j;
    }
    for (let a = 0; a < b; a++) {
      const u = batch.users[a];
      for (let n = userPtr[u]; n < userPtr[u + 1]; n++) {
        for (let j = columnsOfItem[userItems[n]]; j >= 0; j = nextColumn[j]) {
          if (j !== a) offset[a * b + j] = EXCLUDED_LOGIT;
        }
      }
    }
    for (let j = 0; j < b; j++) columnsOfItem[batch.items[j]] = -1;
  }
}

export function floats(tensor: ort.Tensor): Floats {
  const data = tensor.data;
  if (data instanceof Float32Array || data instanceof Float64Array) return data;
  throw new Error(`expected a float tensor, got ${tensor.type}`);
}

/**
 * The ranking model: one gradient-boosted tree head per objective, combined into one score.
 *  - interaction: P(the user interacts with the item), trained on generator candidates;
 *  - rating: P(rating ≥ 4 | interaction), trained on the candidates the user did interact with.
 * score = w_interaction · ln P(interaction) + w_rating · ln P(rating ≥ 4 | interaction), so
 * weights of 1 and 1 rank by P(interaction and a good rating).
 */
import * as ort from 'onnxruntime-node';
import { type OnnxSession, openOnnxSession } from '../models/onnx-session';
import { ONNX_INPUT, ONNX_OUTPUT, rankerToOnnx, readTreeEnsemble, treeEnsembleToOnnx } from './onnx-export';
import { Booster, type BoosterParams, DMatrix, type FeatureRows } from './xgboost';

export const RANKING_HEADS = ['interaction', 'rating'] as const;
export type RankingHead = (typeof RANKING_HEADS)[number];

export type RankingWeights = Readonly<Record<RankingHead, number>>;

/** Ratings at or above this count as liked. */
export const LIKED_RATING = 4;

export interface TreeSettings {
  maxDepth: number;
  eta: number;
  minChildWeight: number;
  /** Row and column sampling per tree. */
  subsample: number;
  colsample: number;
  /** Upper bound; early stopping on the validation rows usually ends sooner. */
  maxRounds: number;
}

/** Rounds without a better validation log loss before training stops. */
const EARLY_STOPPING_ROUNDS = 20;

export interface TrainedHead {
  booster: Booster;
  /** Boosting rounds kept: the early-stopping best, or all of them without validation rows. */
  rounds: number;
  /** Validation log loss at the kept round; NaN without validation rows. */
  validationLogLoss: number;
}

export interface HeadTraining {
  settings: TreeSettings;
  train: FeatureRows;
  /** Enables early stopping; otherwise exactly `rounds` (or `settings.maxRounds`) are boosted. */
  validation?: FeatureRows;
  rounds?: number;
  seed?: number;
  threads?: number;
}

function positiveRate(labels: Float32Array): number {
  let positives = 0;
  for (const label of labels) positives += label;
  return positives / labels.length;
}

/** Trains one binary:logistic head through libxgboost. */
export function trainHead({ settings, train, validation, rounds, seed, threads }: HeadTraining): TrainedHead {
  const labels = train.labels;
  if (!labels) throw new Error('ranker: training rows need labels');
  const rate = positiveRate(labels);
  if (rate <= 0 || rate >= 1) throw new Error(`ranker: training labels are all ${rate === 0 ? 0 : 1}`);
  const params: BoosterParams = {
    objective: 'binary:logistic',
    eval_metric: 'logloss',
    tree_method: 'hist',
    max_depth: settings.maxDepth,
    eta: settings.eta,
    min_child_weight: settings.minChildWeight,
    subsample: settings.subsample,
    colsample_bytree: settings.colsample,
    // Starting at the prior instead of 0.5 saves the first rounds from learning the base rate.
    base_score: rate,
    seed: seed ?? 0,
    nthread: threads ?? 1,
    verbosity: 1,
  };
  const trainMatrix = DMatrix.fromRows(train);
  const validationMatrix = validation && DMatrix.fromRows(validation);
  const booster = Booster.create(params, validationMatrix ? [trainMatrix, validationMatrix] : [trainMatrix]);
  try {
    const limit = rounds ?? settings.maxRounds;
    let best = { rounds: 0, logLoss: Number.POSITIVE_INFINITY };
    for (let round = 0; round < limit; round++) {
      booster.updateOneIteration(round, trainMatrix);
      if (!validationMatrix) continue;
      const { logloss } = booster.evaluate(round, validationMatrix);
      if (logloss < best.logLoss) best = { rounds: round + 1, logLoss: logloss };
      else if (round + 1 - best.rounds >= EARLY_STOPPING_ROUNDS) break;
    }
    if (!validationMatrix) return { booster, rounds: limit, validationLogLoss: Number.NaN };
    const kept = booster.slice(best.rounds);
    booster.dispose();
    return { booster: kept, rounds: best.rounds, validationLogLoss: best.logLoss };
  } catch (error) {
    booster.dispose();
    throw error;
  } finally {
    trainMatrix.dispose();
    validationMatrix?.dispose();
  }
}

/** Combines head probabilities (aligned arrays) into the ranking score. */
export function combineHeads(
  probabilities: Readonly<Record<RankingHead, ArrayLike<number>>>,
  weights: RankingWeights,
): Float64Array {
  const n = probabilities.interaction.length;
  const score = new Float64Array(n);
  for (const head of RANKING_HEADS) {
    const w = weights[head];
    if (w === 0) continue;
    const p = probabilities[head];
    // Clamped so a head that is certain of a 0 lowers the score without making it -Infinity.
    for (let r = 0; r < n; r++) score[r] += w * Math.log(Math.max(p[r], 1e-12));
  }
  return score;
}

/** The head's probabilities for the rows. */
export function predictHead(booster: Booster, rows: FeatureRows): Float32Array {
  const matrix = DMatrix.fromRows(rows);
  try {
    return booster.predict(matrix);
  } finally {
    matrix.dispose();
  }
}

export class Ranker {
  constructor(
    readonly heads: Readonly<Record<RankingHead, Booster>>,
    readonly weights: RankingWeights,
    readonly featureNames: readonly string[],
  ) {}

  /** Per-head probabilities for the rows, whatever the weights, so every head can be judged. */
  predict(rows: FeatureRows): Record<RankingHead, Float32Array> {
    return {
      interaction: predictHead(this.heads.interaction, rows),
      rating: predictHead(this.heads.rating, rows),
    };
  }

  score(rows: FeatureRows): Float64Array {
    return combineHeads(this.predict(rows), this.weights);
  }

  /** One ONNX-ML graph per head, for onnxruntime serving. */
  toOnnx(): Record<RankingHead, Uint8Array> {
    return {
      interaction: treeEnsembleToOnnx(readTreeEnsemble(this.heads.interaction.modelJson()), 'interaction'),
      rating: treeEnsembleToOnnx(readTreeEnsemble(this.heads.rating.modelJson()), 'rating'),
    };
  }

  /** The whole ranker (heads and weights) as one ONNX graph whose output is `score`. */
  toScoringOnnx(): Uint8Array {
    return rankerToOnnx(
      RANKING_HEADS.map((head) => ({
        name: head,
        weight: this.weights[head],
        ensemble: readTreeEnsemble(this.heads[head].modelJson()),
      })),
    );
  }

  dispose(): void {
    for (const head of RANKING_HEADS) this.heads[head].dispose();
  }
}

/** The ranker as served: the exported heads in onnxruntime, combined with the same weights. */
export class OnnxRanker {
  private constructor(
    private readonly sessions: Readonly<Record<RankingHead, OnnxSession>>,
    readonly weights: RankingWeights,
    readonly featureCount: number,
  ) {}

  static async load(
    models: Readonly<Record<RankingHead, Uint8Array>>,
    weights: RankingWeights,
    featureCount: number,
  ): Promise<OnnxRanker> {
    const [interaction, rating] = await Promise.all(
      RANKING_HEADS.map((head) => openOnnxSession(models[head])),
    );
    return new OnnxRanker({ interaction, rating }, weights, featureCount);
  }

  async predict(values: Float32Array): Promise<Record<RankingHead, Float32Array>> {
    const rows = values.length / this.featureCount;
    const input = new ort.Tensor('float32', values, [rows, this.featureCount]);
    const run = async (session: OnnxSession) => {
      const outputs = await session.run({ [ONNX_INPUT]: input });
      return outputs[ONNX_OUTPUT].data as Float32Array;
    };
    const [interaction, rating] = await Promise.all([
      run(this.sessions.interaction),
      run(this.sessions.rating),
    ]);
    return { interaction, rating };
  }

  async score(values: Float32Array): Promise<Float64Array> {
    return combineHeads(await this.predict(values), this.weights);
  }

  async release(): Promise<void> {
    await Promise.all(RANKING_HEADS.map((head) => this.sessions[head].release()));
  }
}

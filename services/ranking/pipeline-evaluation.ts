/**
 * Offline evaluation of the whole pipeline: candidate generator (top-N) → tree ranker → top-K.
 *
 * Per protocol, as in the offline evaluation of candidate models: split, carve validation out
 * of train, and make every choice there. Here validation serves twice:
 *  - the candidate models are tuned on it (validation NDCG@K), and their validation-train fits
 *    generate the candidate lists the ranker learns from, labelled by the validation held-out
 *    items;
 *  - the labelled users are divided once more: the ranker trains on most of them and its tree
 *    settings, rounds and head weights are chosen on the rest, then it is refitted on all.
 * The candidate models are also refitted on the full train split, and the ranker on every
 * labelled user; the test split is read only after all of that, once.
 */
import { availableParallelism } from 'node:os';
import {
  type Hyperparameters,
  type ModelSpec,
  ndcgOn,
  type Stage,
  stage,
  tune,
} from '../evaluation/grid-search';
import {
  auc,
  logLoss,
  recallAtK,
  requireBothClasses,
  summariseTopK,
  type TopKReport,
} from '../evaluation/metrics';
import { type MetricRow, metricRow } from '../evaluation/offline';
import { PROTOCOLS, type Protocol, splitInteractions, validationSplit } from '../evaluation/splits';
import { indexInteractions } from '../models/interaction-matrix';
import { mulberry32, shuffleInPlace } from '../models/random';
import { ScoreBlend } from '../models/score-blend';
import type { CandidateModel, Demographics, Interaction } from '../models/types';
import {
  buildCandidateLists,
  type CandidateLists,
  interactionRows,
  ratingRows,
  rerank,
  selectLists,
} from './candidate-lists';
import { type CatalogItem, RankingFeatures, ratingsOf, type Surface } from './features';
import {
  combineHeads,
  OnnxRanker,
  predictHead,
  RANKING_HEADS,
  Ranker,
  type RankingHead,
  type RankingWeights,
  type TrainedHead,
  type TreeSettings,
  trainHead,
} from './ranker';
import type { FeatureRows } from './xgboost';

/**
 * Slow learning with half the columns per tree: in a wider sweep on ML-100K's ranker-holdout
 * users, depths 4-8 at eta 0.1 with every column ranked worse under the stratified protocol.
 */
export const DEFAULT_TREE_GRID: readonly TreeSettings[] = [
  { maxDepth: 3, eta: 0.05, minChildWeight: 20, subsample: 0.8, colsample: 0.5, maxRounds: 800 },
  { maxDepth: 6, eta: 0.05, minChildWeight: 50, subsample: 0.8, colsample: 0.5, maxRounds: 800 },
];

/** Weights on ln P(rating ≥ 4 | interaction); ln P(interaction) always has weight 1. */
export const DEFAULT_RATING_WEIGHTS: readonly number[] = [0, 0.25, 0.5, 1];

export interface PipelineOptions<P extends Protocol = Protocol> {
  /**
   * Candidate models, each tuned on validation; their scores and ranks are ranker features
   * and the generator blends them (or is the model itself when there is one).
   */
  signals: readonly ModelSpec[];
  /** Weight vectors over `signals` for the generator's blend; validation NDCG@K picks one. */
  blendWeights?: readonly (readonly number[])[];
  catalog: ReadonlyMap<string, CatalogItem>;
  demographics: ReadonlyMap<string, Demographics>;
  /** Candidates per user handed to the ranker. */
  candidates?: number;
  k?: number;
  seed?: number;
  /** Defaults to both. */
  protocols?: readonly P[];
  treeGrid?: readonly TreeSettings[];
  ratingWeights?: readonly number[];
  /** Share of the labelled validation users held out of ranker training to choose its settings. */
  rankerHoldout?: number;
  /** The surface offline requests are attributed to; the logs have no surface. */
  surface?: Surface;
  threads?: number;
  log?: (line: string) => void;
  /**
   * Sees each protocol's fitted models before the ranker is disposed: how a retrain keeps the
   * ranker, and how the online/offline comparison serves exactly what was evaluated.
   */
  onRanker?: (protocol: Protocol, fitted: FittedPipeline) => void;
}

export interface PairMetrics {
  auc: number;
  logLoss: number;
  pairs: number;
  positives: number;
}

export interface HeadReport {
  settings: TreeSettings;
  rounds: number;
  /** On the ranker-holdout users, before the refit on every labelled user. */
  validation: PairMetrics;
  /** On the test candidate lists, of the refitted head. */
  test: PairMetrics;
}

export interface PipelineOutcome {
  generator: { name: string; params: Record<string, Hyperparameters>; blendWeights: readonly number[] };
  /** Share of each test user's held-out items inside their candidate list, averaged over users. */
  candidateRecall: number;
  /** Test metrics of the generator's own top-K, the ranker by P(interaction), and the ranker as weighted. */
  metrics: { generator: MetricRow; interactionRanker: MetricRow; ranker: MetricRow };
  /** NDCG@K on the ranker-holdout users: what the choices were made on. */
  validationNdcg: { generator: number; interactionRanker: number; ranker: number };
  weights: RankingWeights;
  heads: Record<RankingHead, HeadReport>;
  trainingRows: Record<RankingHead, { rows: number; positives: number }>;
  featureNames: readonly string[];
  /** The exported ONNX heads scored on the test rows. */
  onnx: { maxDifference: Record<RankingHead, number>; bytes: Record<RankingHead, number> };
  seconds: {
    generator: number;
    features: number;
    rankerTuning: number;
    rankerFit: number;
    /** Mean wall time to score one user's candidate list, in process. */
    xgboostRequest: number;
    onnxRequest: number;
  };
}

/** What was fitted on a protocol's full train split and scored on its test split. */
export interface FittedPipeline {
  ranker: Ranker;
  features: RankingFeatures;
  generator: CandidateModel;
  /** The ranked pipeline's top-K per test user (index in `features.train`), as scored. */
  topK: ReadonlyMap<number, Int32Array>;
}

export type PipelineResult<P extends Protocol = Protocol> = Record<P, PipelineOutcome>;

const secondsSince = (started: number) => (performance.now() - started) / 1000;

export async function runPipelineEvaluation<P extends Protocol = Protocol>(
  interactions: readonly Interaction[],
  options: PipelineOptions<P>,
): Promise<PipelineResult<P>> {
  const requested = options.protocols ?? (PROTOCOLS as readonly P[]);
  const result = {} as PipelineResult<P>;
  for (const protocol of requested)
    result[protocol] = await evaluateProtocol(protocol, interactions, options);
  return result;
}

interface FittedModels {
  generator: CandidateModel;
  signals: CandidateModel[];
}

async function evaluateProtocol(
  protocol: Protocol,
  interactions: readonly Interaction[],
  options: PipelineOptions,
): Promise<PipelineOutcome> {
  const seed = options.seed ?? 42;
  const k = options.k ?? 10;
  const depth = options.candidates ?? 200;
  const surface = options.surface ?? 'homepage';
  const threads = options.threads ?? availableParallelism();
  const log = (line: string) => options.log?.(`${protocol} ${line}`);
  const index = indexInteractions(interactions);
  const split = splitInteractions(protocol, interactions, seed);
  const carved = validationSplit(protocol, split.train, seed);
  const validation = stage(carved, index);
  const final = stage(split, index);

  let started = performance.now();
  const models = await fitGenerators(options, validation, final, k, log);
  const generatorSeconds = secondsSince(started);

  started = performance.now();
  const sources = {
    catalog: options.catalog,
    demographics: options.demographics,
    signals: ['generator', ...options.signals.map((s) => s.name)],
  };
  const labelled = buildCandidateLists(
    {
      ...models.validation,
      features: new RankingFeatures({
        ...sources,
        train: validation.train,
        ratings: ratingsOf(carved.train, validation.train),
      }),
      depth,
      surface,
    },
    validation.relevant,
    carved.test,
  );
  let featureSeconds = secondsSince(started);
  log(`${labelled.items.length} labelled candidate rows`);

  started = performance.now();
  const choice = chooseRanker(labelled, validation, options, { k, seed, threads, log });
  const rankerTuningSeconds = secondsSince(started);

  started = performance.now();
  const training = { interaction: interactionRows(labelled), rating: ratingRows(labelled) };
  const refit = (head: RankingHead) => {
    const { settings, rounds } = choice.heads[head];
    return trainHead({ settings, rounds, train: training[head], seed, threads }).booster;
  };
  const features = new RankingFeatures({
    ...sources,
    train: final.train,
    ratings: ratingsOf(split.train, final.train),
  });
  const ranker = new Ranker(
    { interaction: refit('interaction'), rating: refit('rating') },
    choice.weights,
    features.names,
  );
  const rankerFitSeconds = secondsSince(started);

  // Everything is chosen and fitted; the test split is read from here on.
  started = performance.now();
  const tested = buildCandidateLists(
    { ...models.final, features, depth, surface },
    final.relevant,
    split.test,
  );
  featureSeconds += secondsSince(started);

  try {
    const testRows = interactionRows(tested);
    const probabilities = ranker.predict(testRows);
    const testRatings = ratingRows(tested);
    const ratingPredictions = predictHead(ranker.heads.rating, testRatings);
    const metricsOf = (scores: ArrayLike<number>) =>
      metricRow(reportOn(tested, rerank(tested, scores, k), final, k), k);
    const serving = await servingCheck(ranker, tested, probabilities);
    if (options.onRanker !== undefined) {
      const ranked = rerank(tested, combineHeads(probabilities, choice.weights), k);
      const topK = new Map(ranked.map((list, l) => [tested.users[l], list]));
      options.onRanker(protocol, { ranker, features, generator: models.final.generator, topK });
    }
    return {
      generator: models.description,
      candidateRecall: candidateRecall(tested, final, depth),
      metrics: {
        // All-equal scores keep generator order.
        generator: metricsOf(new Float32Array(testRows.rows)),
        interactionRanker: metricsOf(probabilities.interaction),
        ranker: metricsOf(combineHeads(probabilities, choice.weights)),
      },
      validationNdcg: choice.validationNdcg,
      weights: choice.weights,
      heads: {
        interaction: {
          ...choice.heads.interaction,
          test: pairMetrics(probabilities.interaction, tested.interacted),
        },
        rating: { ...choice.heads.rating, test: pairMetrics(ratingPredictions, testRatings.labels!) },
      },
      trainingRows: {
        interaction: countRows(training.interaction.labels!),
        rating: countRows(training.rating.labels!),
      },
      featureNames: features.names,
      onnx: serving.onnx,
      seconds: {
        generator: generatorSeconds,
        features: featureSeconds,
        rankerTuning: rankerTuningSeconds,
        rankerFit: rankerFitSeconds,
        ...serving.latency,
      },
    };
  } finally {
    ranker.dispose();
  }
}

/**
 * Tunes each signal on validation, keeps its validation-train fit for the labelled lists,
 * refits it on the full train split, and picks the generator's blend weights on validation.
 */
async function fitGenerators(
  options: PipelineOptions,
  validation: Stage,
  final: Stage,
  k: number,
  log: (line: string) => void,
): Promise<{ validation: FittedModels; final: FittedModels; description: PipelineOutcome['generator'] }> {
  if (options.signals.length === 0) throw new Error('pipeline evaluation: no candidate models');
  const tuned: CandidateModel[] = [];
  const refitted: CandidateModel[] = [];
  const params: Record<string, Hyperparameters> = {};
  for (const s of options.signals) {
    const best = await tune(s, validation, k);
    log(
      `${s.name}: chose ${JSON.stringify(best.candidate.params)} (validation ndcg@${k} ${best.ndcg.toFixed(4)})`,
    );
    params[s.name] = best.candidate.params;
    tuned.push(best.model);
    const model = best.candidate.create();
    await model.fit(final.train);
    refitted.push(model);
  }
  const name = options.signals.map((s) => s.name).join('+');
  const blend = (models: CandidateModel[], weights: readonly number[]) =>
    models.length === 1
      ? models[0]
      : new ScoreBlend(
          models.map((model, n) => ({ model, weight: weights[n] })),
          name,
        );
  const grid = options.blendWeights ?? [options.signals.map(() => 1 / options.signals.length)];
  let best = { weights: grid[0], ndcg: Number.NEGATIVE_INFINITY };
  if (tuned.length > 1) {
    for (const weights of grid) {
      if (weights.length !== tuned.length)
        throw new Error('pipeline evaluation: a blend weight vector needs one weight per signal');
      const ndcg = ndcgOn(blend(tuned, weights), validation, k);
      if (ndcg > best.ndcg) best = { weights, ndcg };
    }
    log(
      `${name}: chose weights ${JSON.stringify(best.weights)} (validation ndcg@${k} ${best.ndcg.toFixed(4)})`,
    );
  }
  return {
    validation: { generator: blend(tuned, best.weights), signals: tuned },
    final: { generator: blend(refitted, best.weights), signals: refitted },
    description: { name, params, blendWeights: tuned.length > 1 ? best.weights : [1] },
  };
}

interface RankerChoice {
  heads: Record<RankingHead, Omit<HeadReport, 'test'>>;
  weights: RankingWeights;
  validationNdcg: PipelineOutcome['validationNdcg'];
}

interface HeadCandidate {
  head: TrainedHead;
  settings: TreeSettings;
  predictions: Float32Array;
  /** What the head is chosen on: holdout NDCG@K for interaction, −log loss for rating. */
  merit: number;
}

/**
 * Divides the labelled users into ranker-train and ranker-holdout, trains each head for every
 * tree setting with early stopping on the holdout, keeps the interaction head with the best
 * holdout NDCG@K and the rating head with the best holdout log loss, then picks the rating
 * weight by holdout NDCG@K. Ties keep the earlier (simpler) grid point.
 */
function chooseRanker(
  labelled: CandidateLists,
  validation: Stage,
  options: PipelineOptions,
  training: { k: number; seed: number; threads: number; log: (line: string) => void },
): RankerChoice {
  const { k, seed, threads, log } = training;
  const order = shuffleInPlace(
    Array.from(labelled.users, (_, l) => l),
    mulberry32((seed ^ 0x2545f491) >>> 0),
  );
  const cut = Math.round(order.length * (1 - (options.rankerHoldout ?? 0.2)));
  const ascending = (lists: number[]) => lists.sort((a, b) => a - b);
  const fitting = selectLists(labelled, ascending(order.slice(0, cut)));
  const holdout = selectLists(labelled, ascending(order.slice(cut)));
  const holdoutNdcg = (scores: ArrayLike<number>) =>
    reportOn(holdout, rerank(holdout, scores, k), validation, k).ndcg;

  const examples: Record<RankingHead, { train: FeatureRows; holdout: FeatureRows }> = {
    interaction: { train: interactionRows(fitting), holdout: interactionRows(holdout) },
    rating: { train: ratingRows(fitting), holdout: ratingRows(holdout) },
  };
  const chosen: Partial<Record<RankingHead, HeadCandidate>> = {};
  try {
    for (const head of RANKING_HEADS) {
      requireBothClasses(examples[head].train.labels!, `the ${head} head's training candidates`);
      requireBothClasses(examples[head].holdout.labels!, `the ${head} head's holdout candidates`);
    }
    for (const head of RANKING_HEADS) {
      for (const settings of options.treeGrid ?? DEFAULT_TREE_GRID) {
        const { train, holdout: heldOut } = examples[head];
        const trained = trainHead({ settings, train, validation: heldOut, seed, threads });
        const predictions = predictHead(trained.booster, heldOut);
        const merit = head === 'interaction' ? holdoutNdcg(predictions) : -trained.validationLogLoss;
        log(
          `${head} head ${JSON.stringify(settings)}: ${trained.rounds} rounds, holdout log loss ` +
            `${trained.validationLogLoss.toFixed(4)}${head === 'interaction' ? `, ndcg@${k} ${merit.toFixed(4)}` : ''}`,
        );
        const incumbent = chosen[head];
        if (!incumbent || merit > incumbent.merit) {
          incumbent?.head.booster.dispose();
          chosen[head] = { head: trained, settings, predictions, merit };
        } else trained.booster.dispose();
      }
    }
    const interaction = chosen.interaction!;
    const rating = chosen.rating!;
    const holdoutProbabilities = {
      interaction: interaction.predictions,
      rating: predictHead(rating.head.booster, examples.interaction.holdout),
    };
    let best = { weight: Number.NaN, ndcg: Number.NEGATIVE_INFINITY };
    for (const weight of options.ratingWeights ?? DEFAULT_RATING_WEIGHTS) {
      const ndcg = holdoutNdcg(combineHeads(holdoutProbabilities, { interaction: 1, rating: weight }));
      log(`rating weight ${weight}: holdout ndcg@${k} ${ndcg.toFixed(4)}`);
      if (ndcg > best.ndcg) best = { weight, ndcg };
    }
    const report = (candidate: HeadCandidate, head: RankingHead) => ({
      settings: candidate.settings,
      rounds: candidate.head.rounds,
      validation: pairMetrics(candidate.predictions, examples[head].holdout.labels!),
    });
    return {
      heads: { interaction: report(interaction, 'interaction'), rating: report(rating, 'rating') },
      weights: { interaction: 1, rating: best.weight },
      validationNdcg: {
        generator: holdoutNdcg(new Float32Array(holdout.items.length)),
        interactionRanker: interaction.merit,
        ranker: best.ndcg,
      },
    };
  } finally {
    for (const head of RANKING_HEADS) chosen[head]?.head.booster.dispose();
  }
}

/** Top-K metrics of re-ranked lists against the stage's held-out items (all of them, not only the candidates). */
function reportOn(lists: CandidateLists, ranked: Int32Array[], judged: Stage, k: number): TopKReport {
  const users = ranked.map((list, l) => ({ ranked: list, relevant: judged.relevant.get(lists.users[l])! }));
  return summariseTopK(users, k, judged.train.nItems);
}

function pairMetrics(probabilities: Float32Array, labels: Float32Array): PairMetrics {
  let positives = 0;
  for (const label of labels) positives += label;
  return {
    auc: auc(probabilities, labels),
    logLoss: logLoss(probabilities, labels),
    pairs: labels.length,
    positives,
  };
}

function countRows(labels: Float32Array): { rows: number; positives: number } {
  let positives = 0;
  for (const label of labels) positives += label;
  return { rows: labels.length, positives };
}

/** The pipeline's ceiling: a held-out item outside the candidates cannot be ranked back in. */
function candidateRecall(lists: CandidateLists, judged: Stage, depth: number): number {
  let sum = 0;
  for (let l = 0; l < lists.users.length; l++) {
    const items = lists.items.subarray(lists.offsets[l], lists.offsets[l + 1]);
    sum += recallAtK(items, judged.relevant.get(lists.users[l])!, depth);
  }
  return sum / Math.max(1, lists.users.length);
}

/** Requests timed for the latency figures; enough for a stable mean, few enough to stay quick. */
const TIMED_REQUESTS = 100;

/**
 * Scores the test rows with the exported heads in onnxruntime and compares with XGBoost's own
 * predictions, then times single requests (one user's candidate list) through both.
 */
async function servingCheck(
  ranker: Ranker,
  lists: CandidateLists,
  expected: Readonly<Record<RankingHead, Float32Array>>,
): Promise<{
  onnx: PipelineOutcome['onnx'];
  latency: Pick<PipelineOutcome['seconds'], 'xgboostRequest' | 'onnxRequest'>;
}> {
  const models = ranker.toOnnx();
  const served = await OnnxRanker.load(models, ranker.weights, ranker.featureNames.length);
  try {
    const predicted = await served.predict(lists.features);
    const maxDifference = { interaction: 0, rating: 0 };
    for (const head of RANKING_HEADS) {
      for (let r = 0; r < predicted[head].length; r++) {
        maxDifference[head] = Math.max(maxDifference[head], Math.abs(predicted[head][r] - expected[head][r]));
      }
    }
    const requests = Math.min(TIMED_REQUESTS, lists.users.length);
    const request = (l: number) =>
      lists.features.subarray(lists.offsets[l] * lists.width, lists.offsets[l + 1] * lists.width);
    let started = performance.now();
    for (let l = 0; l < requests; l++) {
      const values = request(l);
      ranker.score({ values, rows: values.length / lists.width, columns: lists.width });
    }
    const xgboostRequest = secondsSince(started) / requests;
    // The first run of a session pays one-off allocation costs that a serving process pays once.
    await served.score(request(0));
    started = performance.now();
    for (let l = 0; l < requests; l++) await served.score(request(l));
    const onnxRequest = secondsSince(started) / requests;
    return {
      onnx: {
        maxDifference,
        bytes: { interaction: models.interaction.length, rating: models.rating.length },
      },
      latency: { xgboostRequest, onnxRequest },
    };
  } finally {
    await served.release();
  }
}

/**
 * The ranker a release carries, and the gate it passes first. The whole pipeline (the release's
 * iALS as generator → top-N → ranker → top-10) is evaluated on the temporal protocol of the
 * snapshot, with and without the ranker; the ranker is published either way, with whether it won,
 * and serving uses it only where it did. Its feature tables are computed over the whole snapshot
 * with the release's own user and item indexes, so serving indexes them with the vectors' rows.
 */
import { spec } from '../evaluation/grid-search';
import { SingleClassLabelsError } from '../evaluation/metrics';
import { Ials } from '../models/ials';
import { mulberry32, shuffleInPlace } from '../models/random';
import type { Interaction } from '../models/types';
import { encodeFeatureTables } from '../ranking/feature-tables-artifact';
import { RankingFeatures } from '../ranking/features';
import {
  DEFAULT_TREE_GRID,
  type PipelineOptions,
  type PipelineResult,
  runPipelineEvaluation,
} from '../ranking/pipeline-evaluation';
import type { RankingWeights } from '../ranking/ranker';
import type { ColumnarTrainingSet, TrainingSet } from '../store/training-set';
import { snapshotMatrix } from './candidate-training';
import type { TrainingConfig } from './config';

/** Candidates handed to the ranker, as in `cairn eval --pipeline`. */
export const rankerCandidates = 200;
/** Signals the features were built from: the generator and its one model, both the release's iALS. */
const encoder = new TextEncoder();

/**
 * One tree setting, not `cairn eval --pipeline`'s grid: the daily retrain pays for every setting,
 * and the grid's first point is the one it chose on ML-100K.
 */
export const releaseTreeGrid = [{ ...DEFAULT_TREE_GRID[0], eta: 0.1, maxRounds: 400 }];

export const rankerSignals = ['generator', 'ials'] as const;

export interface RankerSpec {
  /** Whether the pipeline with the ranker beat the generators' order on the holdout. */
  won: boolean;
  reason: string;
  holdout: { protocol: 'temporal'; ndcgAt10: { generator: number; ranker: number } };
  weights: RankingWeights;
  featureNames: readonly string[];
  signals: readonly string[];
  candidates: number;
}

/** A trained ranker's spec, or why there is none. */
export type RankerGate = RankerSpec | { won: false; reason: string };

/**
 * NDCG@10 of the pipeline serving runs with this ranker's release on the temporal holdout: the
 * ranker's order where it won, the generator's where it lost; none where no ranker was trained.
 */
export function servedPipelineNdcg(spec: RankerGate): number | undefined {
  if (!('holdout' in spec)) return undefined;
  return spec.won ? spec.holdout.ndcgAt10.ranker : spec.holdout.ndcgAt10.generator;
}

/** A release's ranker files: the spec always (whether it won or was skipped), the rest when trained. */
export const rankerFiles = {
  spec: 'ranker.json',
  model: 'ranker.onnx',
  features: 'ranker-features.bin',
} as const;

function skipped(reason: string): {
  spec: { won: false; reason: string };
  files: Record<string, Uint8Array>;
} {
  const spec = { won: false as const, reason };
  return { spec, files: { [rankerFiles.spec]: encoder.encode(JSON.stringify(spec)) } };
}

/**
 * The release's pipeline on the temporal protocol: the iALS generator with the release's
 * hyperparameters, its candidates, the tree grid. The retrain gates its ranker on it, and
 * `cairn bench agreement` serves what it fits, so both measure the same pipeline.
 */
export function evaluateReleasePipeline(
  training: TrainingSet,
  ials: TrainingConfig['ials'],
  seed: number,
  threads: number,
  hooks: Pick<PipelineOptions<'temporal'>, 'onRanker' | 'log'>,
): Promise<PipelineResult<'temporal'>> {
  return runPipelineEvaluation(training.interactions, {
    signals: [spec('ials', [ials], (p) => new Ials({ ...p, threads }))],
    catalog: training.itemContent,
    demographics: training.demographics,
    candidates: rankerCandidates,
    protocols: ['temporal'],
    treeGrid: releaseTreeGrid,
    seed,
    threads,
    ...hooks,
  });
}

/**
 * The ranker's pipeline evaluation ranks its catalog for every held-out user, from one object per
 * interaction: above this many users it runs on a seeded sample of them and their histories
 * (ML-100K's 943 are all used). Its feature tables are still computed over the whole snapshot.
 */
export const rankerMaxUsers = 2_000;

/** The snapshot's interactions as objects: every user's, or those of a sample drawn by the seed. */
export function rankerSample(
  training: ColumnarTrainingSet,
  seed: number,
  maxUsers: number = rankerMaxUsers,
): TrainingSet {
  const columns = training.interactions;
  const present = new Uint8Array(columns.userIds.length);
  for (const user of columns.user) present[user] = 1;
  let kept = present;
  if (present.reduce((sum, p) => sum + p, 0) > maxUsers) {
    // By id, so the sample does not depend on the order the store met its users in.
    const users = [...present.keys()]
      .filter((user) => present[user] === 1)
      .sort((a, b) => (columns.userIds[a] < columns.userIds[b] ? -1 : 1));
    kept = new Uint8Array(columns.userIds.length);
    for (const user of shuffleInPlace(users, mulberry32((seed ^ 0x2545f491) >>> 0)).slice(0, maxUsers))
      kept[user] = 1;
  }
  const interactions: Interaction[] = [];
  for (let n = 0; n < columns.length; n++)
    if (kept[columns.user[n]] === 1)
      interactions.push({
        user: columns.userIds[columns.user[n]],
        item: columns.itemIds[columns.item[n]],
        timestamp: columns.time[n],
        rating: columns.value[n],
      });
  return { ...training, interactions };
}

/** The feature tables serving reads, over the whole snapshot in the release's own indexes. */
function snapshotFeatures(training: ColumnarTrainingSet): RankingFeatures {
  const columns = training.interactions;
  const train = snapshotMatrix(columns);
  const userRow = Int32Array.from(columns.userIds, (id) => train.users.indexOf(id) ?? -1);
  const itemRow = Int32Array.from(columns.itemIds, (id) => train.items.indexOf(id) ?? -1);
  return new RankingFeatures({
    train,
    ratings: (visit) => {
      for (let n = 0; n < columns.length; n++)
        visit(userRow[columns.user[n]], itemRow[columns.item[n]], columns.value[n]);
    },
    catalog: training.itemContent,
    demographics: training.demographics,
    signals: rankerSignals,
  });
}

/**
 * The retrain's ranker: evaluated and fitted on the snapshot (or a sample of its users, over
 * `rankerMaxUsers`), published with feature tables over the whole snapshot.
 */
export async function trainSnapshotRanker(
  training: ColumnarTrainingSet,
  ials: TrainingConfig['ials'],
  seed: number,
  threads: number,
  maxUsers: number = rankerMaxUsers,
): Promise<{ spec: RankerGate; files: Record<string, Uint8Array> }> {
  const sample = rankerSample(training, seed, maxUsers);
  let kept: { onnx: Uint8Array; weights: RankingWeights } | undefined;
  let result: PipelineResult<'temporal'>;
  try {
    result = await evaluateReleasePipeline(sample, ials, seed, threads, {
      onRanker: (_, { ranker }) => {
        kept = { onnx: ranker.toScoringOnnx(), weights: ranker.weights };
      },
    });
  } catch (error) {
    // A small or sparse snapshot can leave the ranker's training or holdout candidates with one
    // class of labels: the release goes out without a ranker rather than failing the retrain.
    if (error instanceof SingleClassLabelsError) return skipped(`not trained: ${error.message}`);
    throw error;
  }
  if (kept === undefined) throw new Error('the pipeline evaluation fitted no ranker');
  const outcome = result.temporal;
  const ndcgAt10 = {
    generator: outcome.metrics.generator['ndcg@10'],
    ranker: outcome.metrics.ranker['ndcg@10'],
  };
  const won = ndcgAt10.ranker > ndcgAt10.generator;
  const sampled = sample.interactions.length < training.interactions.length;
  const verdict =
    `ranker NDCG@10 ${ndcgAt10.ranker.toFixed(4)} vs generator order ${ndcgAt10.generator.toFixed(4)} on the temporal holdout` +
    (sampled ? ` of a sample of ${maxUsers} users` : '');
  const features = snapshotFeatures(training);
  const rankerSpec: RankerSpec = {
    won,
    reason: won ? `won: ${verdict}` : `lost: ${verdict}; serving keeps the generators' order`,
    holdout: { protocol: 'temporal', ndcgAt10 },
    weights: kept.weights,
    featureNames: features.names,
    signals: rankerSignals,
    candidates: rankerCandidates,
  };
  return {
    spec: rankerSpec,
    files: {
      [rankerFiles.spec]: encoder.encode(JSON.stringify(rankerSpec)),
      [rankerFiles.model]: kept.onnx,
      [rankerFiles.features]: encodeFeatureTables(features.tables),
    },
  };
}

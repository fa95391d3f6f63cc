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
import { buildInteractionMatrix, IdIndex, indexInteractions } from '../models/interaction-matrix';
import { encodeFeatureTables } from '../ranking/feature-tables-artifact';
import type { CatalogItem } from '../ranking/features';
import { RankingFeatures } from '../ranking/features';
import {
  DEFAULT_TREE_GRID,
  type PipelineOptions,
  type PipelineResult,
  runPipelineEvaluation,
} from '../ranking/pipeline-evaluation';
import type { RankingWeights } from '../ranking/ranker';
import { type ColumnarTrainingSet, type TrainingSet, trainingObjects } from '../store/training-set';
import type { TrainingConfig } from './config';

/**
 * Above this the ranker is not trained: its pipeline evaluation scores the whole catalog for every
 * user with held-out interactions, twice (generator and signal), from one object per interaction.
 * Serving no longer depends on the catalog's size (`services/serving/rank/onnx-ranker.ts`).
 */
export const rankerMaxItems = 50_000;
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

const tooManyItems = (items: number) => skipped(`not trained: ${items} items, over ${rankerMaxItems}`);

/**
 * The retrain's ranker, from the snapshot's columns. Its pipeline evaluation takes one object per
 * interaction; over `rankerMaxItems` it is not trained, so none are made.
 */
export function trainSnapshotRanker(
  training: ColumnarTrainingSet,
  ials: TrainingConfig['ials'],
  seed: number,
  threads: number,
): ReturnType<typeof trainReleaseRanker> {
  if (training.items.length > rankerMaxItems) return Promise.resolve(tooManyItems(training.items.length));
  return trainReleaseRanker(trainingObjects(training), ials, seed, threads);
}

export async function trainReleaseRanker(
  training: TrainingSet,
  ials: TrainingConfig['ials'],
  seed: number,
  threads: number,
): Promise<{ spec: RankerGate; files: Record<string, Uint8Array> }> {
  if (training.items.length > rankerMaxItems) return tooManyItems(training.items.length);
  const catalog: ReadonlyMap<string, CatalogItem> = training.itemContent;
  let kept: { onnx: Uint8Array; weights: RankingWeights } | undefined;
  let result: PipelineResult<'temporal'>;
  try {
    result = await evaluateReleasePipeline(training, ials, seed, threads, {
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
  const verdict = `ranker NDCG@10 ${ndcgAt10.ranker.toFixed(4)} vs generator order ${ndcgAt10.generator.toFixed(4)} on the temporal holdout`;
  const users = indexInteractions(training.interactions).users;
  const items = IdIndex.of([...training.items, ...training.interactions.map((x) => x.item)]);
  const features = new RankingFeatures({
    train: buildInteractionMatrix(training.interactions, users, items),
    interactions: training.interactions,
    catalog,
    demographics: training.demographics,
    signals: rankerSignals,
  });
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

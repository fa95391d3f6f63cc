/**
 * `cairn eval --pipeline`: the whole pipeline, both protocols: EASE + iALS blend → top-N
 * candidates → XGBoost ranker (interaction and rating heads) → top-10, with the ranker's AUC and
 * log loss. Every choice is made on validation carved out of train; test is read once per
 * protocol. Needs libxgboost (deploy/local/install-ranker.sh, run by deploy/setup.sh).
 */
import { product, spec } from '../services/evaluation/grid-search';
import type { MetricRow } from '../services/evaluation/offline';
import { Ease, type EaseParams } from '../services/models/ease';
import { Ials, type IalsParams } from '../services/models/ials';
import {
  type PairMetrics,
  type PipelineOutcome,
  runPipelineEvaluation,
} from '../services/ranking/pipeline-evaluation';
import { xgboostVersion } from '../services/ranking/xgboost';
import type { TrainingSet } from '../services/store/training-set';

const METRICS = ['ndcg@10', 'recall@10', 'precision@10', 'map@10', 'coverage@10'];

export interface PipelineReportOptions {
  seed: number;
  candidates: number;
  threads: number;
  print: boolean;
  log: (line: string) => void;
}

/** Runs the pipeline evaluation; returns the ranked pipeline's test metrics per protocol. */
export async function evaluatePipeline(
  training: TrainingSet,
  { seed, candidates, threads, print, log }: PipelineReportOptions,
): Promise<Record<string, MetricRow>> {
  // Narrower than the candidate evaluation's grids, around what it chose, to keep the run short.
  const signals = [
    spec(
      'ease',
      product<EaseParams>({ lambda: [400, 800, 1600], recencyHalfLife: [undefined, 5] }),
      (p) => new Ease(p),
    ),
    spec(
      'ials',
      [
        ...product<IalsParams>({
          factors: [64, 128],
          lambda: [50],
          alpha: [30],
          epochs: [10],
          recencyHalfLife: [undefined, 5],
        }),
        { factors: 128, lambda: 100, alpha: 20, epochs: 10 },
      ],
      (p) => new Ials({ ...p, threads }),
    ),
  ];
  const result = await runPipelineEvaluation(training.interactions, {
    signals,
    blendWeights: [0, 0.2, 0.35, 0.5, 0.65, 0.8, 1].map((w) => [w, 1 - w]),
    catalog: training.itemContent,
    demographics: training.demographics,
    candidates,
    seed,
    threads,
    log,
  });
  if (print) {
    for (const [protocol, outcome] of Object.entries(result))
      printOutcome(protocol, outcome, seed, candidates);
    console.log(`\nlibxgboost ${xgboostVersion()}, ${threads} threads`);
  }
  return Object.fromEntries(Object.entries(result).map(([protocol, o]) => [protocol, o.metrics.ranker]));
}

function printOutcome(protocol: string, o: PipelineOutcome, seed: number, candidates: number): void {
  const blend = o.generator.blendWeights.map((w) => w.toFixed(2)).join('/');
  console.log(
    `\n${protocol} (seed ${seed}): ${o.generator.name} (weights ${blend}) → top-${candidates} → ranker → top-10`,
  );
  const rows = [
    ['pipeline', ...METRICS, 'holdout ndcg@10'],
    row(`${o.generator.name} alone`, o.metrics.generator, o.validationNdcg.generator),
    row('ranker, P(interaction)', o.metrics.interactionRanker, o.validationNdcg.interactionRanker),
    row(`ranker, w_rating=${o.weights.rating}`, o.metrics.ranker, o.validationNdcg.ranker),
  ];
  printTable(rows);
  console.log(`candidate recall@${candidates} (ceiling for any re-ranking): ${o.candidateRecall.toFixed(4)}`);
  printTable([
    [
      'head',
      'depth',
      'rounds',
      'train rows',
      'positives',
      'holdout AUC',
      'holdout logloss',
      'test AUC',
      'test logloss',
      'test pairs',
    ],
    ...(['interaction', 'rating'] as const).map((head) => {
      const h = o.heads[head];
      return [
        head,
        String(h.settings.maxDepth),
        String(h.rounds),
        String(o.trainingRows[head].rows),
        String(o.trainingRows[head].positives),
        ...pair(h.validation),
        ...pair(h.test),
        String(h.test.pairs),
      ];
    }),
  ]);
  const diff = o.onnx.maxDifference;
  console.log(
    `onnx parity on every test row: max |onnx − xgboost| interaction ${diff.interaction.toExponential(2)}, rating ${diff.rating.toExponential(2)}; ` +
      `model bytes ${o.onnx.bytes.interaction} + ${o.onnx.bytes.rating}`,
  );
  const s = o.seconds;
  console.log(
    `seconds: generators (tune + refit) ${s.generator.toFixed(1)}, features ${s.features.toFixed(1)}, ranker tuning ${s.rankerTuning.toFixed(1)}, ranker refit ${s.rankerFit.toFixed(1)}; ` +
      `one request (${candidates} candidates): xgboost ${(s.xgboostRequest * 1000).toFixed(2)} ms, onnxruntime ${(s.onnxRequest * 1000).toFixed(2)} ms`,
  );
}

function row(name: string, metrics: Record<string, number>, holdout: number): string[] {
  return [name, ...METRICS.map((m) => metrics[m].toFixed(4)), holdout.toFixed(4)];
}

function pair(m: PairMetrics): string[] {
  return [m.auc.toFixed(4), m.logLoss.toFixed(4)];
}

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c])).join('  '));
}

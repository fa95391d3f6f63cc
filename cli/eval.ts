/**
 * `cairn eval`: full-ranking offline evaluation of every candidate model on the interaction
 * store, both protocols, hyperparameters chosen on validation carved out of train.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { CairnSettings } from '../services/config/environment';
import { type MetricRow, type OfflineResult, runOfflineEvaluation } from '../services/evaluation/offline';
import type { Interaction } from '../services/models/types';
import { InteractionStore } from '../services/store/interaction-store';
import { readTrainingSet } from '../services/store/training-set';
import { evaluatePipeline } from './eval-pipeline';

export interface EvalOptions {
  json: boolean;
  /** Also evaluate generator → ranker → top-10 (adds several minutes). */
  pipeline: boolean;
  outDir?: string;
  seed: number;
}

const metricKeys = ['ndcg@10', 'recall@10', 'precision@10', 'map@10', 'coverage@10'];

export async function runEval(settings: CairnSettings, options: EvalOptions): Promise<number> {
  const store = await InteractionStore.open(settings.storeDir);
  const training = await readTrainingSet(store);
  await store.close();
  if (training.interactions.length === 0) {
    console.error(
      `cairn eval: the interaction store in ${settings.storeDir} is empty; run 'cairn ingest movielens' first`,
    );
    return 2;
  }
  const started = performance.now();
  const threads = availableParallelism();
  const log = options.json
    ? () => {}
    : (line: string) => console.error(`[${((performance.now() - started) / 1000).toFixed(1)}s] ${line}`);
  const result = await runOfflineEvaluation(training.interactions, {
    seed: options.seed,
    threads,
    demographics: training.demographics,
    itemContent: training.itemContent,
    log,
  });
  if (!options.json) printReport(result, options.seed, threads, (performance.now() - started) / 1000);
  const metrics: Record<string, Record<string, MetricRow>> = { ...result.metrics };
  if (options.pipeline) {
    const ranked = await evaluatePipeline(training, {
      seed: options.seed,
      candidates: 200,
      threads,
      print: !options.json,
      log,
    });
    for (const [protocol, row] of Object.entries(ranked))
      metrics[protocol] = { ...metrics[protocol], 'ease+ials→ranker': row };
  }
  if (options.json) console.log(JSON.stringify(metrics));
  if (options.outDir !== undefined) await writeOutputs(result, options.outDir);
  return 0;
}

function printReport(result: OfflineResult, seed: number, threads: number, totalSeconds: number): void {
  for (const [protocol, outcome] of Object.entries(result.protocols)) {
    console.log(`\n${protocol} (seed ${seed}, ${threads} solver threads)`);
    const header = ['model', ...metricKeys, 'val ndcg', 'fit s', 'tune s', 'params'];
    const rows = Object.entries(outcome.models).map(([name, m]) => [
      name,
      ...metricKeys.map((key) => m.metrics[key].toFixed(4)),
      m.validationNdcg.toFixed(4),
      m.fitSeconds.toFixed(2),
      m.tuningSeconds.toFixed(1),
      JSON.stringify(m.params),
    ]);
    printTable([header, ...rows]);
  }
  const refits = Object.values(result.protocols).map((p) =>
    Object.entries(p.models)
      .filter(([name]) => !name.includes('+'))
      .reduce((sum, [, m]) => sum + m.fitSeconds, 0),
  );
  console.log(
    `\nrefit of every model on its full train split: ${refits.map((s) => `${s.toFixed(1)} s`).join(', ')}`,
  );
  console.log(`total wall (tuning + refits + scoring, both protocols): ${totalSeconds.toFixed(1)} s`);
  console.log(`command: cairn ${process.argv.slice(2).join(' ')}`);
}

/** The splits and every model's top-10, so anyone can recompute every metric independently. */
async function writeOutputs(result: OfflineResult, outDir: string): Promise<void> {
  for (const [protocol, outcome] of Object.entries(result.protocols)) {
    const dir = join(outDir, protocol);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'train.tsv'), interactionsTsv(outcome.split.train));
    await writeFile(join(dir, 'test.tsv'), interactionsTsv(outcome.split.test));
    for (const [name, m] of Object.entries(outcome.models)) {
      const lines = [...m.recommendations].flatMap(([user, items]) =>
        items.map((item, r) => `${user}\t${r + 1}\t${item}`),
      );
      await writeFile(join(dir, `${name}.tsv`), `user\trank\titem\n${lines.join('\n')}\n`);
    }
  }
  console.error(`wrote splits and top-10 lists under ${outDir}`);
}

function interactionsTsv(rows: readonly Interaction[]): string {
  return `user\titem\ttimestamp\n${rows.map((x) => `${x.user}\t${x.item}\t${x.timestamp}`).join('\n')}\n`;
}

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c])).join('  '));
}

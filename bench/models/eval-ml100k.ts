/**
 * Offline evaluation of every candidate model on MovieLens 100K, both protocols.
 * Hyperparameters are chosen on a validation split carved out of train; test is
 * scored once per refitted model.
 *
 * Run: npx tsx bench/models/eval-ml100k.ts [--seed N] [--out DIR]
 * With --out, writes <protocol>/train.tsv, test.tsv and <model>.tsv (user, rank, item).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { runOfflineEvaluation } from '../../services/evaluation/offline';
import type { Interaction } from '../../services/models/types';
import { readDemographics, readInteractions } from './movielens-files';

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? undefined : process.argv[at + 1];
}

async function main(): Promise<void> {
  const seed = Number(flag('seed') ?? 42);
  const outDir = flag('out');
  const command = ['npx tsx', 'bench/models/eval-ml100k.ts', ...process.argv.slice(2)].join(' ');
  const interactions = readInteractions();
  const demographics = readDemographics();
  const started = performance.now();
  const threads = availableParallelism();
  const result = await runOfflineEvaluation(interactions, {
    seed,
    threads,
    demographics,
    log: (line) => console.error(`[${((performance.now() - started) / 1000).toFixed(1)}s] ${line}`),
  });
  const totalSeconds = (performance.now() - started) / 1000;

  for (const [protocol, outcome] of Object.entries(result.protocols)) {
    console.log(`\n${protocol} (seed ${seed}, ${threads} iALS solver threads)`);
    const header = [
      'model',
      'ndcg@10',
      'recall@10',
      'precision@10',
      'map@10',
      'coverage@10',
      'val ndcg',
      'fit s',
      'tune s',
      'params',
    ];
    const rows = Object.entries(outcome.models).map(([name, m]) => [
      name,
      ...['ndcg@10', 'recall@10', 'precision@10', 'map@10', 'coverage@10'].map((key) =>
        m.metrics[key].toFixed(4),
      ),
      m.validationNdcg.toFixed(4),
      m.fitSeconds.toFixed(2),
      m.tuningSeconds.toFixed(1),
      JSON.stringify(m.params),
    ]);
    printTable([header, ...rows]);
  }
  const refitSeconds = Object.values(result.protocols).map((p) =>
    Object.entries(p.models)
      .filter(([name]) => name !== 'ease+ials')
      .reduce((sum, [, m]) => sum + m.fitSeconds, 0),
  );
  console.log(
    `\nrefit of every model on full train, per protocol: ${refitSeconds.map((s) => `${s.toFixed(1)} s`).join(', ')}`,
  );
  console.log(`total wall (tuning + refits + scoring, both protocols): ${totalSeconds.toFixed(1)} s`);
  console.log(`command: ${command}`);
  console.log(JSON.stringify(result.metrics, null, 2));

  if (outDir) {
    for (const [protocol, outcome] of Object.entries(result.protocols)) {
      const dir = join(outDir, protocol);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'train.tsv'), interactionsTsv(outcome.split.train));
      writeFileSync(join(dir, 'test.tsv'), interactionsTsv(outcome.split.test));
      for (const [name, m] of Object.entries(outcome.models)) {
        const lines = [...m.recommendations].flatMap(([user, items]) =>
          items.map((item, r) => `${user}\t${r + 1}\t${item}`),
        );
        writeFileSync(join(dir, `${name}.tsv`), `user\trank\titem\n${lines.join('\n')}\n`);
      }
    }
    console.log(`wrote splits and top-10 lists under ${outDir}`);
  }
}

function interactionsTsv(rows: readonly Interaction[]): string {
  return `user\titem\trating\ttimestamp\n${rows.map((x) => `${x.user}\t${x.item}\t${x.rating ?? ''}\t${x.timestamp}`).join('\n')}\n`;
}

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c])).join('  '));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

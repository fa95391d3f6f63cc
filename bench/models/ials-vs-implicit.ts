/**
 * iALS seconds per epoch against implicit's ALS, in one run on one matrix: the seeded synthetic
 * matrix (default 10M events → ~7.5M distinct pairs, 100k users × 1M items) is exported once as
 * CSR (int32 indptr/indices files), implicit times its CG solver on those files, then Cairn's iALS
 * runs on the same matrix with the same factors, CG steps and threads.
 *
 * Needs a Python with implicit, kept out of Cairn's dependencies:
 *   python3 -m venv /tmp/implicit-venv && /tmp/implicit-venv/bin/pip install implicit
 * Run: npx tsx bench/models/ials-vs-implicit.ts [python] [interactions] [items] [users] [factors] [epochs] [threads]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Ials } from '../../services/models/ials';
import { syntheticMatrix } from './synthetic-matrix';

const [python = '/tmp/implicit-venv/bin/python', ...numbers] = process.argv.slice(2);
const [interactions = 10_000_000, items = 1_000_000, users = 100_000, factors = 64, epochs = 3, threads = 2] =
  numbers.map(Number);
const seconds = (since: number) => (performance.now() - since) / 1000;

async function main(): Promise<void> {
  console.log(
    `command: npx tsx ${[relative(process.cwd(), process.argv[1]), ...process.argv.slice(2)].join(' ')}`,
  );
  const started = performance.now();
  const matrix = syntheticMatrix({ interactions, items, users });
  const emptyItems = matrix.itemPtr.reduce(
    (n, end, i) => n + (i > 0 && end === matrix.itemPtr[i - 1] ? 1 : 0),
    0,
  );
  console.log(
    `matrix: ${matrix.nnz} distinct pairs, ${users} users × ${items} items (${emptyItems} without a pair) in ${seconds(started).toFixed(1)} s`,
  );

  const directory = mkdtempSync(join(tmpdir(), 'cairn-ials-vs-implicit-'));
  try {
    writeFileSync(join(directory, 'indptr.i32'), matrix.userPtr);
    writeFileSync(join(directory, 'indices.i32'), matrix.userItems);
    const script = join(__dirname, 'implicit_als_epoch.py');
    const args = [script, directory, users, items, factors, epochs, threads].map(String);
    console.log(`$ ${python} ${args.join(' ')}`);
    // implicit runs its own threads; OpenBLAS must not start more inside them.
    const env = { ...process.env, OPENBLAS_NUM_THREADS: '1' };
    const run = spawnSync(python, args, { stdio: 'inherit', env });
    if (run.status !== 0)
      console.log(`implicit run failed (status ${run.status}); is it installed in ${python}?`);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }

  const perEpoch: number[] = [];
  const onEpoch = (_epoch: number, epochSeconds: number) => perEpoch.push(epochSeconds);
  // The first epoch also pays for starting the worker threads, as implicit's first pays for its setup.
  await new Ials({ factors, lambda: 10, alpha: 20, epochs, cgSteps: 3, threads, onEpoch }).fit(matrix);
  const median = [...perEpoch].sort((a, b) => a - b)[Math.floor(epochs / 2)];
  console.log(
    `cairn iALS (CG) k=${factors}, ${threads} threads: epochs ${perEpoch.map((s) => s.toFixed(2)).join(', ')} s, median ${median.toFixed(2)} s per epoch`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

/**
 * iALS seconds per epoch at scale: the synthetic 10M-interaction, 1M-item dataset (seeded),
 * both cores.
 *
 * Run: npx tsx bench/models/ials-synthetic.ts [interactions] [items] [users] [factors] [epochs]
 */
import { availableParallelism } from 'node:os';
import { Ials } from '../../services/models/ials';
import { syntheticMatrix } from './synthetic-matrix';

const [interactions = 10_000_000, items = 1_000_000, users = 100_000, factors = 64, epochs = 2] = process.argv
  .slice(2)
  .map(Number);

async function main(): Promise<void> {
  const threads = availableParallelism();
  let started = performance.now();
  const matrix = syntheticMatrix({ interactions, items, users });
  console.log(
    `matrix: ${matrix.nnz} distinct pairs, ${users} users × ${items} items in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  started = performance.now();
  await new Ials({ factors, lambda: 10, alpha: 20, epochs, threads }).fit(matrix);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `iALS k=${factors}, ${threads} threads: ${epochs} epochs in ${seconds.toFixed(1)} s = ${(seconds / epochs).toFixed(1)} s per epoch`,
  );
  console.log(`command: npx tsx bench/models/ials-synthetic.ts ${process.argv.slice(2).join(' ')}`.trim());
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

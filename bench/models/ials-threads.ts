/**
 * iALS fit time on all of ML-100K with one solver thread versus worker threads.
 * Factors are identical either way; only wall time differs.
 * Run: npx tsx bench/models/ials-threads.ts [factors]
 */
import { Ials } from '../../services/models/ials';
import { buildInteractionMatrix, indexInteractions } from '../../services/models/interaction-matrix';
import { readInteractions } from './movielens-files';

async function main(): Promise<void> {
  const factors = Number(process.argv[2] ?? 128);
  const interactions = readInteractions();
  const { users, items } = indexInteractions(interactions);
  const matrix = buildInteractionMatrix(interactions, users, items);
  for (const threads of [1, 2, 1, 2]) {
    const model = new Ials({ factors, lambda: 100, alpha: 20, epochs: 10, threads });
    const started = performance.now();
    await model.fit(matrix);
    console.log(
      `factors=${factors} threads=${threads}: ${((performance.now() - started) / 1000).toFixed(2)} s`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

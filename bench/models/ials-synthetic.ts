/**
 * iALS seconds per epoch at scale: the synthetic 10M-interaction, 1M-item dataset (seeded),
 * both cores. The matrix is built from the generator's columns directly: 10M interaction
 * objects with string ids would measure the garbage collector, not the solver.
 *
 * Run: npx tsx bench/models/ials-synthetic.ts [interactions] [items] [users] [factors] [epochs]
 */
import { availableParallelism } from 'node:os';
import { syntheticInteractionBatches, syntheticItemId, syntheticUserId } from '../../services/data/synthetic';
import { Ials } from '../../services/models/ials';
import {
  IdIndex,
  type InteractionMatrix,
  matrixFromPairKeys,
} from '../../services/models/interaction-matrix';

const [interactions = 10_000_000, items = 1_000_000, users = 100_000, factors = 64, epochs = 2] = process.argv
  .slice(2)
  .map(Number);

function matrixFromColumns(): InteractionMatrix {
  const keys = new Float64Array(interactions);
  let n = 0;
  for (const batch of syntheticInteractionBatches({
    seed: 42,
    interactionCount: interactions,
    itemCount: items,
    userCount: users,
  })) {
    for (let k = 0; k < batch.users.length; k++) keys[n++] = batch.users[k] * items + batch.items[k];
  }
  keys.sort();
  let nnz = 0;
  for (let i = 0; i < n; i++) if (i === 0 || keys[i] !== keys[i - 1]) keys[nnz++] = keys[i];
  return matrixFromPairKeys(
    keys.slice(0, nnz),
    new Float64Array(nnz),
    IdIndex.of(Array.from({ length: users }, (_, u) => syntheticUserId(u))),
    IdIndex.of(Array.from({ length: items }, (_, i) => syntheticItemId(i))),
  );
}

async function main(): Promise<void> {
  const threads = availableParallelism();
  let started = performance.now();
  const matrix = matrixFromColumns();
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

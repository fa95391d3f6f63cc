/**
 * Time per iALS fold-in (a new user's vector from 10 items) at k = 128 over a 1680-item
 * catalogue: what serving pays for a user the last training run did not see. Moved out of the
 * unit tests, where a loaded machine made a wall-clock bound flaky; the budget is under 1 ms.
 * Run: npx tsx bench/models/ials-fold-in.ts [factors]
 */
import { relative } from 'node:path';
import { Ials } from '../../services/models/ials';
import { buildInteractionMatrix, indexInteractions } from '../../services/models/interaction-matrix';
import { mulberry32 } from '../../services/models/random';
import type { Interaction } from '../../services/models/types';

const factors = Number(process.argv[2] ?? 128);
const random = mulberry32(2);
// 20 taste groups of 40 users, each consuming about 60% of its group's 84 items.
const log: Interaction[] = [];
for (let g = 0; g < 20; g++) {
  for (let u = 0; u < 40; u++) {
    for (let i = 0; i < 84; i++) {
      if (random() < 0.6) log.push({ user: `g${g}u${u}`, item: `g${g}i${i}`, timestamp: u * 100 + i });
    }
  }
}

async function main(): Promise<void> {
  console.log(
    `command: npx tsx ${[relative(process.cwd(), process.argv[1]), ...process.argv.slice(2)].join(' ')}`,
  );
  const index = indexInteractions(log);
  const matrix = buildInteractionMatrix(log, index.users, index.items);
  const model = new Ials({ factors, lambda: 10, alpha: 10, epochs: 1 });
  await model.fit(matrix);
  const histories = Array.from({ length: 2_000 }, () =>
    Array.from({ length: 10 }, () => Math.floor(random() * matrix.nItems)),
  );
  for (const h of histories.slice(0, 200)) model.foldInUser(h);
  const perCall: number[] = [];
  for (let batch = 0; batch < 10; batch++) {
    const slice = histories.slice(batch * 200, (batch + 1) * 200);
    const started = performance.now();
    for (const h of slice) model.foldInUser(h);
    perCall.push((performance.now() - started) / slice.length);
  }
  perCall.sort((a, b) => a - b);
  console.log(
    `foldInUser, k=${factors}, ${matrix.nItems} items, 10-item histories: median ${perCall[5].toFixed(3)} ms per call ` +
      `(fastest batch ${perCall[0].toFixed(3)} ms, slowest ${perCall[9].toFixed(3)} ms; ${histories.length} calls)`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

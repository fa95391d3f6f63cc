/**
 * Time per topK call over an ML-100K-sized catalogue (1682 items, K = 10, 100 exclusions), the
 * per-request cost of ranking a scored catalogue. Moved out of the unit tests, where a loaded
 * machine made a wall-clock bound flaky; the budget it tracks is well under a millisecond.
 * Run: npx tsx bench/models/topk.ts [items] [runs]
 */
import { relative } from 'node:path';
import { topK } from '../../services/evaluation/topk';
import { mulberry32 } from '../../services/models/random';

const items = Number(process.argv[2] ?? 1682);
const runs = Number(process.argv[3] ?? 20_000);
const random = mulberry32(5);
const scores = Float32Array.from({ length: items }, () => random());
const exclude = Array.from({ length: 100 }, (_, i) => (i * 16) % items);

console.log(
  `command: npx tsx ${[relative(process.cwd(), process.argv[1]), ...process.argv.slice(2)].join(' ')}`,
);
for (let warm = 0; warm < 2_000; warm++) topK(scores, 10, exclude);
const perCall: number[] = [];
for (let batch = 0; batch < 10; batch++) {
  const started = performance.now();
  for (let r = 0; r < runs / 10; r++) topK(scores, 10, exclude);
  perCall.push((performance.now() - started) / (runs / 10));
}
perCall.sort((a, b) => a - b);
console.log(
  `topK over ${items} items, K=10, ${exclude.length} excluded: median ${(perCall[5] * 1000).toFixed(1)} µs per call ` +
    `(fastest batch ${(perCall[0] * 1000).toFixed(1)} µs, slowest ${(perCall[9] * 1000).toFixed(1)} µs; ${runs} calls)`,
);

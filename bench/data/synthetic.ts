/**
 * Generation throughput of the synthetic dataset at the scale it exists for: 10M interactions
 * over 1M items and 1M users through the columnar API, plus the object APIs that ingestion and
 * the ES backfill consume. A checksum keeps the work observable so none of it can be skipped.
 * Run: npx tsx bench/data/synthetic.ts [interactions] [items] [users]
 */
import { relative } from 'node:path';
import {
  type SyntheticConfigInput,
  syntheticInteractionBatches,
  syntheticInteractions,
  syntheticItems,
  syntheticUsers,
} from '../../services/data/synthetic';

const config: SyntheticConfigInput = {
  seed: 42,
  interactionCount: Number(process.argv[2] ?? 10_000_000),
  itemCount: Number(process.argv[3] ?? 1_000_000),
  userCount: Number(process.argv[4] ?? 1_000_000),
};
const objectSample = Math.min(1_000_000, config.interactionCount ?? 0);

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const rate = (n: number, ms: number) =>
  `${((n / ms) * 1000).toLocaleString('en-US', { maximumFractionDigits: 0 })}/s`;

console.log(
  `command: npx tsx ${[relative(process.cwd(), process.argv[1]), ...process.argv.slice(2)].join(' ')}`,
);
console.log(`node ${process.version}, config ${JSON.stringify(config)}`);

let peakRss = process.memoryUsage().rss;
let checksum = 0;
let count = 0;
let started = performance.now();
let firstBatchAt = 0;
for (const batch of syntheticInteractionBatches(config, 65_536)) {
  if (firstBatchAt === 0) firstBatchAt = performance.now();
  count += batch.users.length;
  checksum =
    (checksum + batch.users[0] + batch.items[batch.items.length - 1] + batch.types[0]) % 1_000_000_007;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}
const columnarMs = performance.now() - started;
console.log(
  `columnar: ${count.toLocaleString('en-US')} interactions in ${(columnarMs / 1000).toFixed(2)} s = ${rate(count, columnarMs)}` +
    ` (tables + first batch ${(firstBatchAt - started).toFixed(0)} ms; ` +
    `after it ${rate(count, performance.now() - firstBatchAt)}), peak RSS ${mb(peakRss)}, checksum ${checksum}`,
);

started = performance.now();
count = 0;
let firstEventAt = 0;
for (const event of syntheticInteractions(config)) {
  if (firstEventAt === 0) firstEventAt = performance.now();
  checksum = (checksum + event.eventId.length) % 1_000_000_007;
  if (++count === objectSample) break;
}
console.log(
  `objects: first ${count.toLocaleString('en-US')} interaction events at ` +
    `${rate(count, performance.now() - firstEventAt)} after ${(firstEventAt - started).toFixed(0)} ms of tables`,
);

started = performance.now();
count = 0;
for (const item of syntheticItems(config)) {
  checksum = (checksum + item.title.length) % 1_000_000_007;
  count++;
}
console.log(
  `items: ${count.toLocaleString('en-US')} item_created events at ${rate(count, performance.now() - started)}`,
);

started = performance.now();
count = 0;
for (const user of syntheticUsers(config)) {
  checksum = (checksum + (user.demographics.age ?? 0)) % 1_000_000_007;
  count++;
}
console.log(
  `users: ${count.toLocaleString('en-US')} user_created events at ${rate(count, performance.now() - started)}`,
);
console.log(`checksum ${checksum}, peak RSS ${mb(Math.max(peakRss, process.memoryUsage().rss))}`);

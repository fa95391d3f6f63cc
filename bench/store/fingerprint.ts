/**
 * The cost of the store's per-event and per-record hashing: the event-id fingerprint (SHA-256,
 * first 64 bits) per id, a whole `apply` of an interaction per event, and the checksum per stored
 * record (one streaming pass). Ids are shaped like the ingest's (`ml:<user>:<item>:<n>`).
 * Run: npx tsx bench/store/fingerprint.ts [interactions]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fingerprint } from '../../services/store/fingerprint';
import { InteractionStore } from '../../services/store/interaction-store';

const interactions = Number(process.argv[2] ?? 1_000_000);
const users = 1_000;
const items = 2_000;
const t0 = Date.UTC(2024, 0, 1);
const eventId = (n: number) => `ml:u${n % users}:i${(n * 7919) % items}:${n}`;

console.log(
  `command: npx tsx ${[relative(process.cwd(), process.argv[1]), ...process.argv.slice(2)].join(' ')}`,
);

const nsPer = (started: number, count: number) => (((performance.now() - started) * 1e6) / count).toFixed(0);

let sink = 0;
for (let n = 0; n < 100_000; n++) sink ^= fingerprint(eventId(n)).lo;
let started = performance.now();
for (let n = 0; n < interactions; n++) sink ^= fingerprint(eventId(n)).lo;
console.log(`fingerprint: ${nsPer(started, interactions)} ns per id (${interactions} ids; ${sink & 1})`);

/** A store of `interactions` ratings: apply, checksum and reopen, timed. */
async function storeCosts(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-bench-store-'));
  try {
    const store = await InteractionStore.open(dir);
    for (let u = 0; u < users; u++)
      store.apply({
        stream: 'users',
        event: { eventId: `u${u}`, type: 'user_created', userId: `u${u}`, occurredAt: t0, demographics: {} },
      });
    for (let i = 0; i < items; i++)
      store.apply({
        stream: 'catalog',
        event: {
          eventId: `i${i}`,
          type: 'item_created',
          itemId: `i${i}`,
          occurredAt: t0,
          title: `item ${i}`,
          categories: ['drama'],
          year: 2000,
          text: '',
          qualityFlags: [],
        },
      });
    started = performance.now();
    for (let n = 0; n < interactions; n++)
      store.apply({
        stream: 'interactions',
        event: {
          eventId: eventId(n),
          type: 'rating',
          userId: `u${n % users}`,
          itemId: `i${(n * 7919) % items}`,
          occurredAt: t0 + n,
          surface: 'import',
          value: 4,
        },
      });
    console.log(`apply: ${nsPer(started, interactions)} ns per interaction (in memory, before the commit)`);
    await store.commit({});
    started = performance.now();
    await store.checksum();
    console.log(`checksum: ${nsPer(started, interactions)} ns per stored interaction (one streaming pass)`);
    await store.close();
    started = performance.now();
    const reopened = await InteractionStore.open(dir);
    console.log(
      `open: ${nsPer(started, interactions)} ns per stored interaction (scan, dedupe set, counters)`,
    );
    await reopened.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

storeCosts().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

/**
 * The retrain's two-tower family alone (`trainTwoTowerRelease`: stratified holdout, new-user
 * gate, release fit and export), on ML-100K or on a store the retrain bench left behind, e.g.
 * `.cache/bench/retrain-store-10000000-1000000-100000-seed42`. Prints the family's verdict, its
 * figures, the wall time and the peak RSS. The holdout seed is the retrain's default.
 * Run: `npx tsx bench/models/two-tower-release.ts [store-dir] [threads]`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSettings } from '../../services/config/environment';
import { loadMovieLens } from '../../services/data/movielens';
import { InteractionStore } from '../../services/store/interaction-store';
import {
  type ColumnarTrainingSet,
  interactionColumns,
  readColumnarTrainingSet,
} from '../../services/store/training-set';
import { holdoutSplit, snapshotMatrix } from '../../services/training/candidate-training';
import { parseTrainingConfig } from '../../services/training/config';
import { trainTwoTowerRelease } from '../../services/training/two-tower-release';

async function movieLens(): Promise<ColumnarTrainingSet> {
  const data = await loadMovieLens(join(readSettings().cacheDir, 'data', 'ml-100k'));
  const items = data.items.map((i) => i.item);
  return {
    interactions: interactionColumns(
      data.ratings.map((r) => ({ user: r.user, item: r.item, timestamp: r.timestamp, rating: r.rating })),
      items,
    ),
    items,
    demographics: new Map(
      data.users.map((u) => [u.user, { age: u.age, gender: u.gender, occupation: u.occupation }]),
    ),
    itemContent: new Map(
      data.items.map((i) => [i.item, { title: i.title, year: i.year ?? null, genres: i.genres }]),
    ),
  };
}

async function fromStore(dir: string): Promise<ColumnarTrainingSet> {
  const store = await InteractionStore.open(dir);
  try {
    return await readColumnarTrainingSet(store);
  } finally {
    await store.close();
  }
}

function peakRssMiB(): number {
  const line = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return line ? Number(line[1]) / 1024 : Number.NaN;
}

async function main(): Promise<void> {
  const [dir, threadsArg] = process.argv.slice(2);
  const threads = Number(threadsArg ?? 2);
  const training = dir === undefined || dir === 'ml-100k' ? await movieLens() : await fromStore(dir);
  const { interactions } = training;
  console.log(
    `${interactions.length} interactions, ${training.items.length} items, ${interactions.userIds.length} users, ${threads} threads`,
  );
  const { holdoutSeed } = parseTrainingConfig({});
  const started = performance.now();
  const { spec, files } = await trainTwoTowerRelease(
    () => ({ snapshot: snapshotMatrix(interactions), holdout: holdoutSplit(interactions, holdoutSeed) }),
    { demographics: training.demographics, content: training.itemContent },
    holdoutSeed,
    threads,
    (phase, seconds) => console.log(`${phase}: ${seconds.toFixed(1)} s`),
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(spec.reason);
  if ('holdout' in spec) console.log(JSON.stringify({ holdout: spec.holdout, newUsers: spec.newUsers }));
  for (const [name, bytes] of Object.entries(files))
    console.log(`${name}: ${(bytes.length / 2 ** 20).toFixed(1)} MiB`);
  console.log(`two-tower family: ${seconds.toFixed(1)} s, peak RSS ${peakRssMiB().toFixed(0)} MiB`);
  console.log(`command: npx tsx bench/models/two-tower-release.ts ${process.argv.slice(2).join(' ')}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

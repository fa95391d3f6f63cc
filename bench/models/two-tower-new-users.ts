/**
 * Whether the two-tower generator helps the serving pipeline for users it has no trained vector
 * for, on ML-100K, where the retrain's gate lets it serve: users with demographics and no
 * interactions yet. A seeded 20% of users is held out of training altogether and halved into
 * validation and test users, never mixed (the grouping of `cairn bench cold-users`). iALS (the
 * release's vectors) and the two-tower model are fitted on the rest; each held-out user is
 * served by the real pipeline (in process, exact search, exploration off) knowing only their
 * cohort, and NDCG@10 is measured on what they did after their fifth interaction, as in
 * `cairn bench cold-users`. The generator's weight is chosen on the validation users; weight 0
 * is the pipeline without it. The test users are measured at weight 0 and the chosen weight.
 * Run: `npx tsx bench/models/two-tower-new-users.ts`.
 */
import { join } from 'node:path';
import { readSettings } from '../../services/config/environment';
import { loadMovieLens } from '../../services/data/movielens';
import { ndcgAtK } from '../../services/evaluation/metrics';
import { buildInteractionMatrix, IdIndex, indexInteractions } from '../../services/models/interaction-matrix';
import { mulberry32 } from '../../services/models/random';
import { TwoTower } from '../../services/models/two-tower/model';
import type { Interaction } from '../../services/models/types';
import { TwoTowerCandidates } from '../../services/serving/generators/two-tower';
import type { HotState } from '../../services/serving/hot-state';
import { runPipeline } from '../../services/serving/pipeline';
import { releaseTwoTowerParams } from '../../services/training/two-tower-release';
import { movieLensServingState, offlinePipelineDeps } from '../data/movielens-serving-state';

const weightGrid = [0, 0.5, 1, 2, 4, 8];

type Group = [string, Interaction[]][];

/** Mean NDCG@10 of the pipeline's slate for users it knows nothing of yet, on what they did after their fifth. */
async function measure(state: HotState, users: Group, weight: number): Promise<number> {
  const deps = offlinePipelineDeps({ pipeline: { weights: { 'two-tower': weight } } });
  let sum = 0;
  for (const [userId, rows] of users) {
    const later = new Set(rows.slice(5).map((x) => state.items.index.get(x.item) ?? -1));
    const result = await runPipeline(
      { userId, surface: 'homepage', k: 10, recentItems: [], exclude: [], interests: [] },
      state,
      deps,
    );
    if (!result.ok) throw new Error(result.error.message);
    sum += ndcgAtK(
      result.slate.items.map((i) => state.items.index.get(i.itemId) ?? -1),
      later,
      10,
    );
  }
  return sum / Math.max(1, users.length);
}

async function main(): Promise<void> {
  const settings = readSettings();
  const data = await loadMovieLens(join(settings.cacheDir, 'data', 'ml-100k'));
  const random = mulberry32(42);
  const group = new Map<string, 'train' | 'validation' | 'test'>();
  for (const row of data.users) {
    const r = random();
    group.set(row.user, r >= 0.2 ? 'train' : r < 0.1 ? 'validation' : 'test');
  }
  const train: Interaction[] = [];
  const heldOut = new Map<string, Interaction[]>();
  for (const r of data.ratings) {
    const x = { user: r.user, item: r.item, timestamp: r.timestamp };
    if (group.get(r.user) === 'train') train.push(x);
    else heldOut.set(r.user, [...(heldOut.get(r.user) ?? []), x]);
  }
  const usersOf = (name: 'validation' | 'test'): Group =>
    [...heldOut]
      .filter(([user, rows]) => group.get(user) === name && rows.length >= 10)
      .map(([user, rows]) => [
        user,
        rows.sort((a, b) => a.timestamp - b.timestamp || (a.item < b.item ? -1 : 1)),
      ]);

  const served = await movieLensServingState(data, train, 'two-tower-bench');
  const side = {
    demographics: new Map(
      data.users.map((u) => [u.user, { age: u.age, gender: u.gender, occupation: u.occupation }]),
    ),
    content: new Map(
      data.items.map((i) => [i.item, { title: i.title, year: i.year ?? null, genres: i.genres }]),
    ),
  };
  const matrix = buildInteractionMatrix(train, indexInteractions(train).users, IdIndex.of(served.items.ids));
  const started = performance.now();
  const model = new TwoTower({ ...releaseTwoTowerParams, seed: 7, threads: 2 }, side);
  await model.fit(matrix);
  console.log(
    `two-tower fitted on ${matrix.nUsers} users in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const twoTower = await TwoTowerCandidates.load(
    {
      userTower: model.exportTowers().user,
      itemIds: matrix.items.ids,
      itemVectors: Float32Array.from(model.fitted.itemVectors),
    },
    {
      serveUpTo: 0,
      vocabulary: model.fitted.inputs.vocabulary,
      newUserIndex: matrix.nUsers,
      dims: releaseTwoTowerParams.outputDim,
      params: releaseTwoTowerParams,
    },
    served.items.ids,
  );
  const state: HotState = { ...served, twoTower };
  const validation = usersOf('validation');
  let best = { weight: 0, ndcg: Number.NEGATIVE_INFINITY };
  for (const weight of weightGrid) {
    const ndcg = await measure(state, validation, weight);
    console.log(`validation (${validation.length} users), weight ${weight}: NDCG@10 ${ndcg.toFixed(4)}`);
    if (ndcg > best.ndcg) best = { weight, ndcg };
  }
  const test = usersOf('test');
  console.log(`chosen on validation: weight ${best.weight}`);
  for (const weight of [0, best.weight])
    console.log(
      `test (${test.length} users), weight ${weight}: NDCG@10 ${(await measure(state, test, weight)).toFixed(4)}`,
    );
  await twoTower.release();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

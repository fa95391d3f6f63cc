/**
 * New users on ML-100K: users held out of training entirely (a seeded 20% of users, halved into
 * a validation and a test group, never mixed), whose first 0, 1, 3 and 5 interactions are
 * replayed as their logged session, and NDCG@10 is measured on everything they did after their
 * fifth. Serving answers through the real pipeline (in process, exact search, exploration off):
 * cohort popularity and the mean item vector with nothing known, then the session's fold-in into
 * the champion's space, its neighbours and its categories. Against global popularity and the
 * user's demographic cohort's popularity, both without the items already seen.
 */
import { join } from 'node:path';
import type { SessionState } from '../schemas/session';
import { loadMovieLens } from '../services/data/movielens';
import { ndcgAtK } from '../services/evaluation/metrics';
import { mulberry32 } from '../services/models/random';
import type { Interaction } from '../services/models/types';
import { newUserVector } from '../services/realtime/session-fold-in';
import { applyToSession } from '../services/realtime/session-state';
import type { HotState } from '../services/serving/hot-state';
import { runPipeline } from '../services/serving/pipeline';
import { movieLensServingState, offlinePipelineDeps } from './data/movielens-serving-state';

export const replayed = [0, 1, 3, 5] as const;
const heldOutShare = 0.2;
/** A user needs this many interactions after the replayed ones to be measured. */
const laterAtLeast = 5;

export interface ColdUsersRow {
  interactions: number;
  pipeline: number;
  /** The session's fold-in alone: the release's items by inner product with the folded vector. */
  foldIn: number;
  globalPopularity: number;
  cohortPopularity: number;
}

export interface ColdUsersGroup {
  users: number;
  rows: ColdUsersRow[];
}

export interface ColdUsersResult {
  trainUsers: number;
  /** The generator weights chosen on the validation users (mean NDCG@10 over 1, 3 and 5 replayed). */
  weights: Weights;
  validation: ColdUsersGroup;
  test: ColdUsersGroup;
}

interface Weights {
  session: number;
  popularity: number;
  /** Serving's `newUserPrior`. */
  prior: number;
}

/** Serving's defaults first: they stay unless another setting does better on validation. */
const weightGrid: Weights[] = [4, 0, 1, 8].flatMap((prior) => [
  { session: 2, popularity: 0.3, prior },
  { session: 2, popularity: 1, prior },
  { session: 0.5, popularity: 1, prior },
  { session: 0.5, popularity: 3, prior },
]);

export async function benchColdUsers(cacheDir: string, seed = 42): Promise<ColdUsersResult> {
  const data = await loadMovieLens(join(cacheDir, 'data', 'ml-100k'));
  const random = mulberry32(seed);
  const group = new Map<string, 'train' | 'validation' | 'test'>();
  for (const row of data.users) {
    const r = random();
    group.set(row.user, r >= heldOutShare ? 'train' : r < heldOutShare / 2 ? 'validation' : 'test');
  }
  const byUser = new Map<string, Interaction[]>();
  const train: Interaction[] = [];
  for (const r of data.ratings) {
    const x = { user: r.user, item: r.item, timestamp: r.timestamp };
    if (group.get(r.user) === 'train') train.push(x);
    else byUser.set(r.user, [...(byUser.get(r.user) ?? []), x]);
  }
  const state = await movieLensServingState(data, train, 'cold-users-bench');
  const usersOf = (name: 'validation' | 'test') =>
    [...byUser].filter(
      ([user, rows]) => group.get(user) === name && rows.length >= Math.max(...replayed) + laterAtLeast,
    );
  let best: { weights: Weights; group: ColdUsersGroup; mean: number } | undefined;
  for (const weights of weightGrid) {
    const measured = await measureGroup(state, usersOf('validation'), weights);
    const withSession = measured.rows.filter((r) => r.interactions > 0);
    const mean = withSession.reduce((sum, r) => sum + r.pipeline, 0) / withSession.length;
    if (best === undefined || mean > best.mean) best = { weights, group: measured, mean };
  }
  if (best === undefined) throw new Error('cold users: empty weight grid');
  return {
    trainUsers: state.users.index.size,
    weights: best.weights,
    validation: best.group,
    test: await measureGroup(state, usersOf('test'), best.weights),
  };
}

async function measureGroup(
  state: HotState,
  users: [string, Interaction[]][],
  weights: Weights,
): Promise<ColdUsersGroup> {
  const sessions = new Map<string, SessionState>();
  const deps = {
    ...offlinePipelineDeps({
      pipeline: {
        weights: { session: weights.session, popularity: weights.popularity },
        newUserPrior: weights.prior,
      },
    }),
    sessions: { session: (userId: string) => sessions.get(userId) },
  };
  const sums = replayed.map((interactions) => ({
    interactions,
    pipeline: 0,
    foldIn: 0,
    globalPopularity: 0,
    cohortPopularity: 0,
  }));
  const now = Date.now();
  const limits = { recentKept: 50, ttlMs: Number.POSITIVE_INFINITY };
  for (const [userId, rows] of users) {
    rows.sort((a, b) => a.timestamp - b.timestamp || (a.item < b.item ? -1 : 1));
    const later = new Set(rows.slice(Math.max(...replayed)).map((x) => state.items.index.get(x.item) ?? -1));
    for (const row of sums) {
      const first = rows.slice(0, row.interactions);
      let session: SessionState | undefined;
      first.forEach((x, n) => {
        session = applyToSession(
          session,
          {
            itemId: x.item,
            occurredAt: now,
            categories: state.catalog.categoriesOf(x.item),
            partition: 0,
            offset: String(n),
          },
          limits,
          now,
        );
      });
      if (session === undefined) sessions.delete(userId);
      else sessions.set(userId, session);
      const result = await runPipeline(
        { userId, surface: 'homepage', k: 10, recentItems: [], exclude: [], interests: [] },
        state,
        deps,
      );
      if (!result.ok) throw new Error(result.error.message);
      const slate = result.slate.items.map((i) => state.items.index.get(i.itemId) ?? -1);
      row.pipeline += ndcgAtK(slate, later, 10);
      const seen = new Set(first.map((x) => state.items.index.get(x.item) ?? -1));
      const top = (ranked: Int32Array) => [...ranked].filter((i) => !seen.has(i)).slice(0, 10);
      const cohort = state.catalog.cohortOfUser(userId);
      row.globalPopularity += ndcgAtK(top(state.popularity.global), later, 10);
      const prior = newUserVector(state, [...seen], weights.prior);
      row.foldIn += ndcgAtK(prior === undefined ? [] : top(byInnerProduct(state, prior)), later, 10);
      row.cohortPopularity += ndcgAtK(
        top(
          (cohort === undefined ? undefined : state.popularity.byCohort.get(cohort)) ??
            state.popularity.global,
        ),
        later,
        10,
      );
    }
  }
  const n = Math.max(1, users.length);
  return {
    users: users.length,
    rows: sums.map((r) => ({
      interactions: r.interactions,
      pipeline: r.pipeline / n,
      foldIn: r.foldIn / n,
      globalPopularity: r.globalPopularity / n,
      cohortPopularity: r.cohortPopularity / n,
    })),
  };
}

function byInnerProduct(state: HotState, vector: Float32Array): Int32Array {
  const { ids, dims, vectors } = state.items;
  const scores = new Float64Array(ids.length);
  for (let i = 0; i < ids.length; i++)
    for (let d = 0; d < dims; d++) scores[i] += vectors[i * dims + d] * vector[d];
  return Int32Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
}

export function formatColdUsers(result: ColdUsersResult): string[] {
  const table = (name: string, g: ColdUsersGroup) => [
    `${name}: ${g.users} users held out of training, NDCG@10 on their interactions after the 5th`,
    '| interactions replayed | serving pipeline | fold-in (with the prior) kNN alone | global popularity | cohort popularity |',
    '| --- | --- | --- | --- | --- |',
    ...g.rows.map(
      (r) =>
        `| ${r.interactions} | ${r.pipeline.toFixed(4)} | ${r.interactions === 0 ? '–' : r.foldIn.toFixed(4)} | ${r.globalPopularity.toFixed(4)} | ${r.cohortPopularity.toFixed(4)} |`,
    ),
  ];
  return [
    `trained on ${result.trainUsers} users; chosen on validation: weights session ${result.weights.session}, popularity ${result.weights.popularity}; newUserPrior ${result.weights.prior}`,
    ...table('validation', result.validation),
    ...table('test', result.test),
  ];
}

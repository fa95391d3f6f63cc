/**
 * New users on ML-100K: users held out of training entirely (a seeded 20% of users, halved into
 * a validation and a test group, never mixed), whose first 0, 1, 3 and 5 interactions are
 * replayed as their logged session, and NDCG@10 is measured on everything they did after their
 * fifth. Serving answers through the real pipeline (in process, exact search, exploration off):
 * with nothing known, cohort popularity and the mean item vector's kNN; with a session, the
 * new-user blend (services/serving/new-user-weights.ts) of popularity pooled with the session's
 * co-occurrences (generators/new-user-estimate.ts), the fold-in's kNN and the session's
 * categories. Its hyperparameters are chosen on the validation users only; the test users are
 * measured once, with that choice. Against global popularity and the user's demographic
 * cohort's popularity, both without the items already seen.
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
import { type PipelineDeps, runPipeline } from '../services/serving/pipeline';
import type { ServingConfigInput } from '../services/serving/serving-config';
import { movieLensServingState, offlinePipelineDeps } from './data/movielens-serving-state';

export const replayed = [0, 1, 3, 5] as const;
const heldOutShare = 0.2;
/** A user needs this many interactions after the replayed ones to be measured. */
const laterAtLeast = 5;

export interface ColdUsersRow {
  interactions: number;
  /** As served: after the diversity steps (MMR, category cap) of serving's defaults. */
  pipeline: number;
  /** The same pipeline without the diversity steps: what its ranking alone is worth. */
  ranking: number;
  /** The session's fold-in alone: the release's items by inner product with the folded vector. */
  foldIn: number;
  globalPopularity: number;
  cohortPopularity: number;
  /** Standard error of the per-user difference between the served pipeline and the better popularity. */
  marginError: number;
}

export interface ColdUsersGroup {
  users: number;
  rows: ColdUsersRow[];
}

/** The new-user hyperparameters the bench chooses among. */
export interface NewUserChoice {
  /** `newUserShrinkage`: the cohort counts as this many session items. */
  shrinkage: number;
  /** `newUserPrior`: the fold-in's pull toward the mean item vector. */
  prior: number;
  /** `newUserWeights` (popularity 1, session 0: the estimate already pools the session's co-occurrences). */
  ann: number;
  interests: number;
}

export interface ColdUsersResult {
  trainUsers: number;
  choice: NewUserChoice;
  /** Of the chosen setting on validation: the smallest margin of the served pipeline over the better popularity at 1, 3, 5. */
  validationMargin: number;
  validation: ColdUsersGroup;
  test: ColdUsersGroup;
}

export const choices: NewUserChoice[] = [16, 32, 64, 128, 256].flatMap((shrinkage) =>
  [8, 16].flatMap((prior) =>
    [0.5, 1, 2].flatMap((ann) => [0, 0.2, 0.5].map((interests) => ({ shrinkage, prior, ann, interests }))),
  ),
);

type Group = 'train' | 'validation' | 'test';

/** Seeded, per user: a user is in exactly one group, whatever the order of the ratings. */
export function splitUsers(users: readonly string[], seed: number): Map<string, Group> {
  const random = mulberry32(seed);
  const group = new Map<string, Group>();
  for (const user of users) {
    const r = random();
    group.set(user, r >= heldOutShare ? 'train' : r < heldOutShare / 2 ? 'validation' : 'test');
  }
  return group;
}

/** The setting whose served pipeline is furthest above (or least below) the better popularity at its worst n ≥ 1; then by mean. */
export function bestChoice<T>(measured: { value: T; group: ColdUsersGroup }[]): { value: T; margin: number } {
  let best: { value: T; margin: number; mean: number } | undefined;
  for (const { value, group } of measured) {
    const known = group.rows.filter((r) => r.interactions > 0);
    const margin = Math.min(
      ...known.map((r) => r.pipeline - Math.max(r.globalPopularity, r.cohortPopularity)),
    );
    const mean = known.reduce((sum, r) => sum + r.pipeline, 0) / known.length;
    if (best === undefined || margin > best.margin || (margin === best.margin && mean > best.mean))
      best = { value, margin, mean };
  }
  if (best === undefined) throw new Error('cold users: nothing to choose from');
  return { value: best.value, margin: best.margin };
}

export async function benchColdUsers(cacheDir: string, seed = 42): Promise<ColdUsersResult> {
  const data = await loadMovieLens(join(cacheDir, 'data', 'ml-100k'));
  const group = splitUsers(
    data.users.map((row) => row.user),
    seed,
  );
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
  // Validation users alone choose; the test users are measured once, after.
  const validationUsers = usersOf('validation');
  const measured: { value: NewUserChoice; group: ColdUsersGroup }[] = [];
  for (const choice of choices)
    measured.push({ value: choice, group: await measureGroup(state, validationUsers, choice, false) });
  const chosen = bestChoice(measured);
  return {
    trainUsers: state.users.index.size,
    choice: chosen.value,
    validationMargin: chosen.margin,
    validation: await measureGroup(state, validationUsers, chosen.value, true),
    test: await measureGroup(state, usersOf('test'), chosen.value, true),
  };
}

/**
 * Every ML-100K item is created at the same instant here, so every item counts as fresh and the
 * fresh generator would propose them in catalog order: it is off, as is the freshness slot.
 */
function pipelineOf(choice: NewUserChoice, diversity: boolean): ServingConfigInput['pipeline'] {
  return {
    weights: { fresh: 0 },
    freshSlot: 0,
    newUserPrior: choice.prior,
    newUserShrinkage: choice.shrinkage,
    newUserWeights: { ann: choice.ann, session: 0, popularity: 1, interests: choice.interests },
    ...(diversity ? {} : { mmrLambda: 1, categoryCap: 100 }),
  };
}

/** `full`: also the pipeline without diversity and the fold-in alone (choosing needs neither, nor n = 0). */
async function measureGroup(
  state: HotState,
  users: [string, Interaction[]][],
  choice: NewUserChoice,
  full: boolean,
): Promise<ColdUsersGroup> {
  const sessions = new Map<string, SessionState>();
  const lookup = { session: (userId: string) => sessions.get(userId) };
  const served = { ...offlinePipelineDeps({ pipeline: pipelineOf(choice, true) }), sessions: lookup };
  const undiversified = { ...offlinePipelineDeps({ pipeline: pipelineOf(choice, false) }), sessions: lookup };
  const measuredCounts = full ? replayed : replayed.filter((n) => n > 0);
  const sums = measuredCounts.map((interactions) => ({
    interactions,
    pipeline: 0,
    ranking: 0,
    foldIn: 0,
    globalPopularity: 0,
    cohortPopularity: 0,
    /** Per user: the served pipeline's NDCG minus each popularity's. */
    overGlobal: [] as number[],
    overCohort: [] as number[],
  }));
  const now = Date.now();
  const limits = { recentKept: 50, ttlMs: Number.POSITIVE_INFINITY };
  const slateOf = async (userId: string, deps: PipelineDeps) => {
    const result = await runPipeline(
      { userId, surface: 'homepage', k: 10, recentItems: [], exclude: [], interests: [] },
      state,
      deps,
    );
    if (!result.ok) throw new Error(result.error.message);
    return result.slate.items.map((i) => state.items.index.get(i.itemId) ?? -1);
  };
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
      const pipeline = ndcgAtK(await slateOf(userId, served), later, 10);
      row.pipeline += pipeline;
      const seen = new Set(first.map((x) => state.items.index.get(x.item) ?? -1));
      const top = (ranked: Int32Array) => [...ranked].filter((i) => !seen.has(i)).slice(0, 10);
      const cohort = state.catalog.cohortOfUser(userId);
      const global = ndcgAtK(top(state.popularity.global), later, 10);
      const ofCohort = ndcgAtK(
        top(
          (cohort === undefined ? undefined : state.popularity.byCohort.get(cohort)) ??
            state.popularity.global,
        ),
        later,
        10,
      );
      row.globalPopularity += global;
      row.cohortPopularity += ofCohort;
      row.overGlobal.push(pipeline - global);
      row.overCohort.push(pipeline - ofCohort);
      if (!full) continue;
      row.ranking += ndcgAtK(await slateOf(userId, undiversified), later, 10);
      const prior = newUserVector(state, [...seen], choice.prior);
      row.foldIn += ndcgAtK(prior === undefined ? [] : top(byInnerProduct(state, prior)), later, 10);
    }
  }
  const n = Math.max(1, users.length);
  return {
    users: users.length,
    rows: sums.map((r) => ({
      interactions: r.interactions,
      pipeline: r.pipeline / n,
      ranking: r.ranking / n,
      foldIn: r.foldIn / n,
      globalPopularity: r.globalPopularity / n,
      cohortPopularity: r.cohortPopularity / n,
      marginError: standardError(r.globalPopularity > r.cohortPopularity ? r.overGlobal : r.overCohort),
    })),
  };
}

function standardError(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((sum, x) => sum + (x - mean) ** 2, 0) / (xs.length - 1);
  return Math.sqrt(variance / xs.length);
}

function byInnerProduct(state: HotState, vector: Float32Array): Int32Array {
  const { ids, dims, vectors } = state.items;
  const scores = new Float64Array(ids.length);
  for (let i = 0; i < ids.length; i++)
    for (let d = 0; d < dims; d++) scores[i] += vectors[i * dims + d] * vector[d];
  return Int32Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
}

const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(4)}`;

export function formatColdUsers(result: ColdUsersResult): string[] {
  const { choice } = result;
  const table = (name: string, g: ColdUsersGroup) => [
    `${name}: ${g.users} users held out of training, NDCG@10 on their interactions after the 5th`,
    '| interactions replayed | serving pipeline | its ranking without MMR and category cap | fold-in (with the prior) kNN alone | global popularity | cohort popularity | served − better popularity ± s.e. |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...g.rows.map(
      (r) =>
        `| ${r.interactions} | ${r.pipeline.toFixed(4)} | ${r.ranking.toFixed(4)} | ${r.interactions === 0 ? '–' : r.foldIn.toFixed(4)} | ${r.globalPopularity.toFixed(4)} | ${r.cohortPopularity.toFixed(4)} | ${signed(r.pipeline - Math.max(r.globalPopularity, r.cohortPopularity))} ± ${r.marginError.toFixed(4)} |`,
    ),
  ];
  return [
    `trained on ${result.trainUsers} users; chosen on validation (${choices.length} settings): newUserShrinkage ${choice.shrinkage}, newUserPrior ${choice.prior}, newUserWeights ann ${choice.ann}, interests ${choice.interests} (popularity 1, session 0); its worst margin over the better popularity at 1, 3, 5 on validation ${result.validationMargin.toFixed(4)}`,
    ...table('validation', result.validation),
    ...table('test', result.test),
  ];
}

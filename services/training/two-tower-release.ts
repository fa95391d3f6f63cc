/**
 * The two-tower family of a release: the towers as ONNX and the item tower's vectors of the
 * release's items, measured twice. On the stratified holdout every family is measured on (a
 * recorded figure), and on users held out of training altogether, whose first 0, 1, 3 and 5
 * interactions are replayed through the exported user tower: that is the only place serving
 * uses it (users without a trained iALS vector), so that is its gate, against the popularity of
 * the user's demographic cohort on the same users. A fit that throws is recorded as failed.
 */
import { ndcgAtK, summariseTopK } from '../evaluation/metrics';
import type { Relevance } from '../evaluation/ranking';
import { topK } from '../evaluation/topk';
import { type InteractionMatrix, matrixFromPairKeys } from '../models/interaction-matrix';
import { ageBand, cohortKey } from '../models/popularity';
import { mulberry32, shuffleInPlace } from '../models/random';
import type { SideInformation, VocabularyLists } from '../models/two-tower/features';
import { TWO_TOWER_GRID } from '../models/two-tower/grid';
import { TwoTower, type TwoTowerParams } from '../models/two-tower/model';
import { type NewUser, NewUserTower } from '../models/two-tower/new-users';
import { holdoutUsers } from './candidate-training';
import { rankOnThreads, sharedFloats } from './factor-ranking';

/**
 * `cairn eval`'s first grid point, with a fifth of the training rows' user ids dropped so the
 * tower learns to place a user from demographics and history alone (not tuned). An epoch is at
 * most 100,000 rows, which all of ML-100K's fit in: the fit is run three times per release, and
 * at 1M items a step costs ~150 ms (its 1,024 rows pool ~50k rows of a 256 MB history table,
 * and Adam then updates them), so one pass over a 10M-event snapshot would be ~25 min.
 */
export const releaseTwoTowerParams: TwoTowerParams = {
  ...TWO_TOWER_GRID[0],
  userIdDropout: 0.2,
  newUserHistory: 5,
  epochRows: 100_000,
};

/** Interactions replayed for a held-out user before the gate ranks the rest. */
export const newUserReplays = [0, 1, 3, 5] as const;
/**
 * Held-out users the gate measures, a seeded sample above it: each is four rankings of the whole
 * catalog (ML-100K has 179 at the default seed).
 */
export const newUserMaxUsers = 250;
/** Share of the users held out of the gate's fit. */
const newUserShare = 0.2;
/** A held-out user is measured only with this many interactions after the replayed ones. */
const laterAtLeast = 5;

export const twoTowerFiles = {
  spec: 'two-tower.json',
  userTower: 'two-tower-user.onnx',
  itemTower: 'two-tower-item.onnx',
  itemIds: 'two-tower-item-ids.json',
  itemVectors: 'two-tower-item-vectors.f32',
} as const;

export interface NewUserScores {
  users: number;
  /** Mean NDCG@10 on the interactions after the fifth, per replayed count (`newUserReplays`). */
  twoTower: number[];
  cohortPopularity: number[];
}

/** What a published two-tower family is, besides whether it won. */
export interface TwoTowerModelSpec {
  /**
   * Serving proposes two-tower candidates to a user without a trained vector who has touched at
   * most this many items: the largest replayed count up to which it beat cohort popularity at
   * every count. Absent when it lost at none.
   */
  serveUpTo?: number;
  holdout: { protocol: 'stratified'; ndcgAt10: number; recallAt10: number; users: number };
  newUsers: NewUserScores;
  params: TwoTowerParams;
  vocabulary: VocabularyLists;
  newUserIndex: number;
  dims: number;
  fitSeconds: number;
}

export type TwoTowerSpec =
  | ({ won: boolean; reason: string } & TwoTowerModelSpec)
  | { won: false; reason: string };

const encoder = new TextEncoder();

function failed(reason: string): { spec: TwoTowerSpec; files: Record<string, Uint8Array> } {
  const spec = { won: false as const, reason };
  return { spec, files: { [twoTowerFiles.spec]: encoder.encode(JSON.stringify(spec)) } };
}

function vocabularyLists({ genders, occupations, genres }: VocabularyLists): VocabularyLists {
  return { genders, occupations, genres };
}

function servedReplays(scores: NewUserScores): number | undefined {
  if (scores.users === 0) return undefined;
  let served: number | undefined;
  for (const [r, n] of newUserReplays.entries()) {
    if (scores.twoTower[r] <= scores.cohortPopularity[r]) break;
    served = n;
  }
  return served;
}

/** The stratified holdout `holdoutScore` measures iALS on, in one matrix's id space. */
export interface StratifiedHoldout {
  train: InteractionMatrix;
  test: Relevance;
}

/**
 * Held-out users the stratified figure ranks the catalog for, a seeded sample above it (ML-100K
 * has 943). The figure is recorded, not gated, so it is measured on half of iALS's sample.
 */
export const twoTowerHoldoutUsers = 1_000;

/** Ranked as iALS's holdout is, for at most `twoTowerHoldoutUsers` users drawn by `seed`. */
async function holdoutFigures(
  holdout: StratifiedHoldout,
  side: SideInformation,
  params: TwoTowerParams,
  seed: number,
  threads: number,
): Promise<TwoTowerModelSpec['holdout']> {
  const model = new TwoTower(params, side);
  await model.fit(holdout.train);
  const scored = holdoutUsers(holdout.test, seed, twoTowerHoldoutUsers);
  const factors = {
    users: sharedFloats(model.fitted.userVectors),
    items: sharedFloats(model.fitted.itemVectors),
    factors: params.outputDim,
  };
  const ranked = await rankOnThreads(factors, [...scored.keys()], holdout.train, 10, threads);
  const report = summariseTopK(
    [...scored].map(([user, relevant]) => ({ ranked: ranked.get(user)!, relevant })),
    10,
    holdout.train.nItems,
  );
  return { protocol: 'stratified', ndcgAt10: report.ndcg, recallAt10: report.recall, users: report.users };
}

/** The user's demographics as serving knows them: the cohort's parts, the age as its band. */
function cohortOf(side: SideInformation, user: string): NewUser['cohort'] {
  const d = side.demographics.get(user);
  return d && { band: ageBand(d.age), gender: d.gender, occupation: d.occupation };
}

/** The snapshot without the rows of `heldOut` users, in the same id spaces. */
function withoutUsers(snapshot: InteractionMatrix, heldOut: Uint8Array): InteractionMatrix {
  let kept = 0;
  for (let u = 0; u < snapshot.nUsers; u++)
    if (!heldOut[u]) kept += snapshot.userPtr[u + 1] - snapshot.userPtr[u];
  const keys = new Float64Array(kept);
  const times = new Float64Array(kept);
  let at = 0;
  for (let u = 0; u < snapshot.nUsers; u++) {
    if (heldOut[u]) continue;
    for (let n = snapshot.userPtr[u]; n < snapshot.userPtr[u + 1]; n++, at++) {
      keys[at] = u * snapshot.nItems + snapshot.userItems[n];
      times[at] = snapshot.userTimes[n];
    }
  }
  return matrixFromPairKeys(keys, times, snapshot.users, snapshot.items);
}

/** A measured user's items in time order, and the ascending items of each replayed prefix. */
interface MeasuredUser {
  id: string;
  ordered: number[];
  replayed: Int32Array[];
}

/**
 * The top 10 of each measured user and replayed count by the popularity of the user's cohort in
 * `train`, plus overall popularity scaled below one count to break ties. Users are taken cohort
 * by cohort, so one cohort's counts over the catalog are held at a time.
 */
function cohortPopularityLists(
  train: InteractionMatrix,
  side: SideInformation,
  measured: readonly MeasuredUser[],
): Int32Array[][] {
  const keyOf = (user: string) => {
    const d = side.demographics.get(user);
    return d === undefined ? undefined : cohortKey(d);
  };
  const trainUsers = new Map<string, number[]>();
  for (let u = 0; u < train.nUsers; u++) {
    const key = keyOf(train.users.ids[u]);
    if (key === undefined) continue;
    const members = trainUsers.get(key);
    if (members === undefined) trainUsers.set(key, [u]);
    else members.push(u);
  }
  const groups = new Map<string | undefined, number[]>();
  measured.forEach((user, m) => {
    const key = keyOf(user.id);
    const members = groups.get(key);
    if (members === undefined) groups.set(key, [m]);
    else members.push(m);
  });
  const lists: Int32Array[][] = measured.map(() => []);
  const counts = new Float32Array(train.nItems);
  const scores = new Float32Array(train.nItems);
  for (const [key, members] of groups) {
    counts.fill(0);
    for (const u of key === undefined ? [] : (trainUsers.get(key) ?? []))
      for (let n = train.userPtr[u]; n < train.userPtr[u + 1]; n++) counts[train.userItems[n]]++;
    for (let i = 0; i < train.nItems; i++)
      scores[i] = counts[i] + (train.itemPtr[i + 1] - train.itemPtr[i]) / (1 + train.nnz);
    for (const m of members) lists[m] = measured[m].replayed.map((seen) => topK(scores, 10, seen));
  }
  return lists;
}

/** Held-out users with enough interactions to measure, at most `newUserMaxUsers` drawn by `seed`. */
function measuredUsers(snapshot: InteractionMatrix, heldOut: Uint8Array, seed: number): MeasuredUser[] {
  const replayed = Math.max(...newUserReplays);
  const eligible: number[] = [];
  for (let u = 0; u < snapshot.nUsers; u++)
    if (heldOut[u] && snapshot.userPtr[u + 1] - snapshot.userPtr[u] >= replayed + laterAtLeast)
      eligible.push(u);
  const users =
    eligible.length <= newUserMaxUsers
      ? eligible
      : shuffleInPlace(eligible, mulberry32((seed ^ 0x5bd1e995) >>> 0))
          .slice(0, newUserMaxUsers)
          .sort((a, b) => a - b);
  return users.map((u) => {
    const from = snapshot.userPtr[u];
    const ordered = Array.from({ length: snapshot.userPtr[u + 1] - from }, (_, k) => from + k)
      .sort((a, b) => snapshot.userTimes[a] - snapshot.userTimes[b] || a - b)
      .map((n) => snapshot.userItems[n]);
    const prefixes = newUserReplays.map((n) => Int32Array.from(ordered.slice(0, n)).sort());
    return { id: snapshot.users.ids[u], ordered, replayed: prefixes };
  });
}

/**
 * The gate: a seeded share of the snapshot's users held out of the fit, each replayed through
 * the exported user tower with its first 0, 1, 3, 5 items, against its cohort's popularity.
 */
export async function newUserScores(
  snapshot: InteractionMatrix,
  side: SideInformation,
  params: TwoTowerParams,
  seed: number,
  threads: number,
): Promise<NewUserScores> {
  const random = mulberry32(seed);
  const heldOut = Uint8Array.from({ length: snapshot.nUsers }, () => (random() < newUserShare ? 1 : 0));
  const train = withoutUsers(snapshot, heldOut);
  const model = new TwoTower(params, side);
  await model.fit(train);
  const measured = measuredUsers(snapshot, heldOut, seed);
  const replays = newUserReplays.length;
  const d = params.outputDim;
  const queries = new Float32Array(new SharedArrayBuffer(measured.length * replays * d * 4));
  const tower = await NewUserTower.load(model.exportTowers().user, {
    vocabulary: model.fitted.inputs.vocabulary,
    newUserIndex: train.nUsers,
    historyLength: params.historyLength,
  });
  try {
    for (const [m, { id, ordered }] of measured.entries()) {
      const vectors = await tower.embed(
        newUserReplays.map((n) => ({ cohort: cohortOf(side, id), history: ordered.slice(0, n).reverse() })),
      );
      queries.set(vectors, m * replays * d);
    }
  } finally {
    await tower.release();
  }
  const rows = measured.flatMap((_, m) => newUserReplays.map((_, r) => m * replays + r));
  const excluded = measured.flatMap((user) => user.replayed);
  const userPtr = new Int32Array(rows.length + 1);
  excluded.forEach((items, n) => {
    userPtr[n + 1] = userPtr[n] + items.length;
  });
  const userItems = new Int32Array(userPtr[rows.length]);
  excluded.forEach((items, n) => {
    userItems.set(items, userPtr[n]);
  });
  const seen = { userPtr, userItems };
  const factors = { users: queries, items: sharedFloats(model.fitted.itemVectors), factors: d };
  const ranked = await rankOnThreads(factors, rows, seen, 10, threads);
  const popular = cohortPopularityLists(train, side, measured);
  const twoTower = newUserReplays.map(() => 0);
  const popularity = newUserReplays.map(() => 0);
  for (const [m, { ordered }] of measured.entries()) {
    const later = new Set(ordered.slice(Math.max(...newUserReplays)));
    for (let r = 0; r < replays; r++) {
      twoTower[r] += ndcgAtK(ranked.get(m * replays + r)!, later, 10);
      popularity[r] += ndcgAtK(popular[m][r], later, 10);
    }
  }
  const n = Math.max(1, measured.length);
  return {
    users: measured.length,
    twoTower: twoTower.map((sum) => sum / n),
    cohortPopularity: popularity.map((sum) => sum / n),
  };
}

/**
 * Fits, measures and exports the release's two-tower model. `snapshot` is the matrix the
 * release's iALS is fitted on, over the whole catalog: the published item vectors are its rows.
 * The matrices are built inside, so a failure to build them is recorded as the family's.
 */
export async function trainTwoTowerRelease(
  matrices: () => { snapshot: InteractionMatrix; holdout: StratifiedHoldout },
  side: SideInformation,
  seed: number,
  threads: number,
  onPhase: (phase: string, seconds: number) => void = () => {},
): Promise<{ spec: TwoTowerSpec; files: Record<string, Uint8Array> }> {
  const params = { ...releaseTwoTowerParams, seed, threads };
  const started = performance.now();
  let phaseStarted = started;
  const phase = <T>(name: string, result: T): T => {
    const now = performance.now();
    onPhase(name, (now - phaseStarted) / 1000);
    phaseStarted = now;
    return result;
  };
  try {
    const data = phase('matrices', matrices());
    const holdout = phase('holdout', await holdoutFigures(data.holdout, side, params, seed, threads));
    const newUsers = phase('new-user gate', await newUserScores(data.snapshot, side, params, seed, threads));
    const matrix = data.snapshot;
    const model = new TwoTower(params, side);
    await model.fit(matrix);
    const towers = phase('release fit, export', model.exportTowers());
    const itemVectors = Float32Array.from(model.fitted.itemVectors);
    const serveUpTo = servedReplays(newUsers);
    const won = serveUpTo !== undefined;
    const figures = newUserReplays
      .map((n, r) => `${n}: ${newUsers.twoTower[r].toFixed(4)} vs ${newUsers.cohortPopularity[r].toFixed(4)}`)
      .join(', ');
    const verdict = `${
      newUsers.users === 0
        ? 'no held-out user has enough interactions to measure'
        : `NDCG@10 of ${newUsers.users} held-out users by interactions replayed, two-tower vs cohort popularity: ${figures}`
    }; stratified holdout NDCG@10 ${holdout.ndcgAt10.toFixed(4)}`;
    const spec: TwoTowerSpec = {
      won,
      reason: won
        ? `won up to ${serveUpTo} interactions: ${verdict}`
        : `lost: ${verdict}; serving goes without the two-tower generator`,
      ...(won ? { serveUpTo } : {}),
      holdout,
      newUsers,
      params: releaseTwoTowerParams,
      vocabulary: vocabularyLists(model.fitted.inputs.vocabulary),
      newUserIndex: matrix.nUsers,
      dims: params.outputDim,
      fitSeconds: (performance.now() - started) / 1000,
    };
    return {
      spec,
      files: {
        [twoTowerFiles.spec]: encoder.encode(JSON.stringify(spec)),
        [twoTowerFiles.userTower]: towers.user,
        [twoTowerFiles.itemTower]: towers.item,
        [twoTowerFiles.itemIds]: encoder.encode(JSON.stringify(matrix.items.ids)),
        [twoTowerFiles.itemVectors]: new Uint8Array(itemVectors.buffer),
      },
    };
  } catch (error) {
    return failed(`failed to train: ${(error as Error).message}`);
  }
}

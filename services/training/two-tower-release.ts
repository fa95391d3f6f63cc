/**
 * The two-tower family of a release: the towers as ONNX and the item tower's vectors of the
 * release's items, measured twice. On the stratified holdout every family is measured on (a
 * recorded figure), and on users held out of training altogether, whose first 0, 1, 3 and 5
 * interactions are replayed through the exported user tower: that is the only place serving
 * uses it (users without a trained iALS vector), so that is its gate, against the popularity of
 * the user's demographic cohort on the same users. A fit that throws is recorded as failed.
 */
import { ndcgAtK } from '../evaluation/metrics';
import { evaluateRanking, type Relevance } from '../evaluation/ranking';
import { topK } from '../evaluation/topk';
import { type InteractionMatrix, matrixFromPairKeys } from '../models/interaction-matrix';
import { ageBand, cohortKey } from '../models/popularity';
import { mulberry32 } from '../models/random';
import type { SideInformation, VocabularyLists } from '../models/two-tower/features';
import { TWO_TOWER_GRID } from '../models/two-tower/grid';
import { TwoTower, type TwoTowerParams } from '../models/two-tower/model';
import { type NewUser, NewUserTower } from '../models/two-tower/new-users';

/**
 * `cairn eval`'s first grid point, with a fifth of the training rows' user ids dropped so the
 * tower learns to place a user from demographics and history alone (not tuned).
 */
export const releaseTwoTowerParams: TwoTowerParams = {
  ...TWO_TOWER_GRID[0],
  userIdDropout: 0.2,
  newUserHistory: 5,
};

/** Interactions replayed for a held-out user before the gate ranks the rest. */
export const newUserReplays = [0, 1, 3, 5] as const;
/**
 * Above this many items the fit is not run: Adam updates every embedding row on every step,
 * which at a million items is 128M values a step (two tables of 64), for thousands of steps.
 */
export const twoTowerMaxItems = 50_000;
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

async function holdoutFigures(
  holdout: StratifiedHoldout,
  side: SideInformation,
  params: TwoTowerParams,
): Promise<TwoTowerModelSpec['holdout']> {
  const model = new TwoTower(params, side);
  await model.fit(holdout.train);
  const { report } = evaluateRanking(model, holdout.train, holdout.test, 10);
  return { protocol: 'stratified', ndcgAt10: report.ndcg, recallAt10: report.recall, users: report.users };
}

/** The user's demographics as serving knows them: the cohort's parts, the age as its band. */
function cohortOf(side: SideInformation, user: string): NewUser['cohort'] {
  const d = side.demographics.get(user);
  return d && { band: ageBand(d.age), gender: d.gender, occupation: d.occupation };
}

/** The snapshot without the rows of `heldOut` users, in the same id spaces. */
function withoutUsers(snapshot: InteractionMatrix, heldOut: Uint8Array): InteractionMatrix {
  const keys: number[] = [];
  const times: number[] = [];
  for (let u = 0; u < snapshot.nUsers; u++) {
    if (heldOut[u]) continue;
    for (let n = snapshot.userPtr[u]; n < snapshot.userPtr[u + 1]; n++) {
      keys.push(u * snapshot.nItems + snapshot.userItems[n]);
      times.push(snapshot.userTimes[n]);
    }
  }
  return matrixFromPairKeys(
    Float64Array.from(keys),
    Float64Array.from(times),
    snapshot.users,
    snapshot.items,
  );
}

/** Each user's cohort's item counts, plus overall popularity scaled below one count to break ties. */
function cohortPopularityScores(
  train: InteractionMatrix,
  side: SideInformation,
): (user: string) => Float32Array {
  const global = new Float32Array(train.nItems);
  const byCohort = new Map<string, Float32Array>();
  for (let u = 0; u < train.nUsers; u++) {
    const d = side.demographics.get(train.users.ids[u]);
    let counts = d === undefined ? undefined : byCohort.get(cohortKey(d));
    if (d !== undefined && counts === undefined) {
      counts = new Float32Array(train.nItems);
      byCohort.set(cohortKey(d), counts);
    }
    for (let n = train.userPtr[u]; n < train.userPtr[u + 1]; n++) {
      global[train.userItems[n]]++;
      if (counts !== undefined) counts[train.userItems[n]]++;
    }
  }
  return (user) => {
    const d = side.demographics.get(user);
    const counts = d === undefined ? undefined : byCohort.get(cohortKey(d));
    return Float32Array.from(global, (g, i) => (counts?.[i] ?? 0) + g / (1 + train.nnz));
  };
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
): Promise<NewUserScores> {
  const random = mulberry32(seed);
  const heldOut = Uint8Array.from({ length: snapshot.nUsers }, () => (random() < newUserShare ? 1 : 0));
  const train = withoutUsers(snapshot, heldOut);
  const model = new TwoTower(params, side);
  await model.fit(train);
  const tower = await NewUserTower.load(model.exportTowers().user, {
    vocabulary: model.fitted.inputs.vocabulary,
    newUserIndex: train.nUsers,
    historyLength: params.historyLength,
  });
  const cohortScores = cohortPopularityScores(train, side);
  const replayed = Math.max(...newUserReplays);
  const twoTower = newUserReplays.map(() => 0);
  const popularity = newUserReplays.map(() => 0);
  const d = params.outputDim;
  const { itemVectors } = model.fitted;
  const scores = new Float32Array(snapshot.nItems);
  let users = 0;
  try {
    for (let u = 0; u < snapshot.nUsers; u++) {
      const from = snapshot.userPtr[u];
      const to = snapshot.userPtr[u + 1];
      if (!heldOut[u] || to - from < replayed + laterAtLeast) continue;
      users++;
      const ordered = Array.from({ length: to - from }, (_, k) => from + k)
        .sort((a, b) => snapshot.userTimes[a] - snapshot.userTimes[b] || a - b)
        .map((n) => snapshot.userItems[n]);
      const later = new Set(ordered.slice(replayed));
      const id = snapshot.users.ids[u];
      const cohort = cohortScores(id);
      const vectors = await tower.embed(
        newUserReplays.map((n) => ({ cohort: cohortOf(side, id), history: ordered.slice(0, n).reverse() })),
      );
      newUserReplays.forEach((n, r) => {
        const seen = ordered.slice(0, n);
        for (let i = 0; i < snapshot.nItems; i++) {
          let dot = 0;
          for (let k = 0; k < d; k++) dot += vectors[r * d + k] * itemVectors[i * d + k];
          scores[i] = dot;
        }
        twoTower[r] += ndcgAtK(topK(scores, 10, seen), later, 10);
        popularity[r] += ndcgAtK(topK(cohort, 10, seen), later, 10);
      });
    }
  } finally {
    await tower.release();
  }
  const n = Math.max(1, users);
  return {
    users,
    twoTower: twoTower.map((sum) => sum / n),
    cohortPopularity: popularity.map((sum) => sum / n),
  };
}

/**
 * Fits, measures and exports the release's two-tower model. `snapshot` is the matrix the
 * release's iALS is fitted on, over the whole catalog: the published item vectors are its rows.
 * The matrices are built only for a catalog the fit is run on.
 */
export async function trainTwoTowerRelease(
  catalogSize: number,
  matrices: () => { snapshot: InteractionMatrix; holdout: StratifiedHoldout },
  side: SideInformation,
  seed: number,
  threads: number,
): Promise<{ spec: TwoTowerSpec; files: Record<string, Uint8Array> }> {
  const params = { ...releaseTwoTowerParams, seed, threads };
  if (catalogSize > twoTowerMaxItems)
    return failed(`not trained: ${catalogSize} items, over ${twoTowerMaxItems}`);
  try {
    const data = matrices();
    const started = performance.now();
    const holdout = await holdoutFigures(data.holdout, side, params);
    const newUsers = await newUserScores(data.snapshot, side, params, seed);
    const matrix = data.snapshot;
    const model = new TwoTower(params, side);
    await model.fit(matrix);
    const towers = model.exportTowers();
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

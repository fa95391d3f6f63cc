/**
 * Training of the retrieval model the daily retrain publishes: iALS, whose item factors are the
 * vectors of the ANN index and whose user factors (or a fold-in) are the queries. Also the
 * holdout measurement that the champion/challenger gate compares.
 */

import type { ItemVectors } from '../catalog/item-vectors';
import { summariseTopK } from '../evaluation/metrics';
import type { Relevance } from '../evaluation/ranking';
import { TEST_FRACTION } from '../evaluation/splits';
import { Ials } from '../models/ials';
import {
  collapsePairs,
  IdIndex,
  type InteractionMatrix,
  itemsOfUser,
  matrixFromPairKeys,
} from '../models/interaction-matrix';
import { mulberry32, shuffleInPlace } from '../models/random';
import type { InteractionColumns } from '../store/training-set';
import type { TrainingConfig } from './config';
import { rankOnThreads } from './factor-ranking';

export interface HoldoutScore {
  ndcgAt10: number;
  recallAt10: number;
  users: number;
}

export interface TrainedRetrieval {
  items: ItemVectors;
  /** `seen[u]`: indexes into `items.ids` of what user u interacted with, for serving's seen filter. */
  users: { ids: string[]; vectors: Float32Array; seen: number[][] };
  fitSeconds: number;
}

/** A sorted index of the store's ids (those the interactions use, or all), and each id's place in it. */
function indexOfIds(ids: readonly string[], used: Uint32Array | null): { index: IdIndex; place: Int32Array } {
  const keep = new Uint8Array(ids.length).fill(used === null ? 1 : 0);
  if (used !== null) for (const id of used) keep[id] = 1;
  const index = IdIndex.of(ids.filter((_, id) => keep[id] === 1));
  const place = Int32Array.from(ids, (id) => index.indexOf(id) ?? -1);
  return { index, place };
}

/**
 * The distinct (user, item) pairs of the snapshot, over the users who interacted and either the
 * items interacted with or the whole catalog, with the earliest or latest time of each pair.
 */
function snapshotPairs(columns: InteractionColumns, wholeCatalog: boolean, keep: 'earliest' | 'latest') {
  const users = indexOfIds(columns.userIds, columns.user);
  const items = indexOfIds(columns.itemIds, wholeCatalog ? null : columns.item);
  const pairs = collapsePairs(
    {
      length: columns.length,
      row: (n) => users.place[columns.user[n]],
      column: (n) => items.place[columns.item[n]],
      time: columns.time,
    },
    users.index.size,
    items.index.size,
    keep,
  );
  return { users: users.index, items: items.index, ...pairs };
}

/**
 * The stratified per-user holdout of `splitInteractions`, on pairs instead of objects: the same
 * users in the same order, the same histories (one per pair, its earliest time) sorted by item id,
 * shuffled by the same PRNG stream, so the split and the holdout score are the same.
 */
export function holdoutSplit(
  interactions: InteractionColumns,
  seed: number,
): { train: InteractionMatrix; test: Relevance } {
  const { keys, times, users, items } = snapshotPairs(interactions, false, 'earliest');
  const nItems = items.size;
  const random = mulberry32(seed);
  const inTrain = new Uint8Array(keys.length);
  const test = new Map<number, Set<number>>();
  for (let start = 0; start < keys.length; ) {
    const user = Math.floor(keys[start] / nItems);
    let end = start + 1;
    while (end < keys.length && Math.floor(keys[end] / nItems) === user) end++;
    const history = shuffleInPlace(
      Array.from({ length: end - start }, (_, k) => start + k),
      random,
    );
    const cut =
      history.length - Math.min(history.length - 1, Math.round(history.length * TEST_FRACTION.stratified));
    for (let k = 0; k < cut; k++) inTrain[history[k]] = 1;
    if (cut < history.length) test.set(user, new Set(history.slice(cut).map((n) => keys[n] % nItems)));
    start = end;
  }
  const trainKeys = keys.filter((_, n) => inTrain[n] === 1);
  const trainTimes = times.filter((_, n) => inTrain[n] === 1);
  return { train: matrixFromPairKeys(trainKeys, trainTimes, users, items), test };
}

/**
 * Scoring a held-out user ranks the whole catalog: 100k users × 1M items × 64 factors is hours of
 * arithmetic. Above this many users a seeded sample is scored; the champion is scored on the same
 * sample, so the gate still compares like with like. ML-100K's 943 users are all scored.
 */
export const holdoutMaxUsers = 2_000;

/** The held-out users to score: all of them, or a sample drawn by the seed, in user order. */
export function holdoutUsers(test: Relevance, seed: number, maxUsers = holdoutMaxUsers): Relevance {
  if (test.size <= maxUsers) return test;
  const sample = shuffleInPlace([...test.keys()], mulberry32((seed ^ 0x9e3779b9) >>> 0))
    .slice(0, maxUsers)
    .sort((a, b) => a - b);
  return new Map(sample.map((user) => [user, test.get(user)!]));
}

/**
 * NDCG@10 of a config fitted on a per-user 75% and scored on the held-out 25% (full ranking),
 * over at most `holdoutMaxUsers` users, ranked on the training threads.
 */
export async function holdoutScore(
  interactions: InteractionColumns,
  ials: TrainingConfig['ials'],
  holdoutSeed: number,
  threads: number,
  onEpoch?: (epoch: number, seconds: number) => void,
): Promise<HoldoutScore> {
  const { train, test } = holdoutSplit(interactions, holdoutSeed);
  const model = new Ials({ ...ials, threads, onEpoch });
  await model.fit(train);
  const scored = holdoutUsers(test, holdoutSeed);
  const factors = { users: model.userVectors, items: model.itemVectors, factors: ials.factors };
  const ranked = await rankOnThreads(factors, [...scored.keys()], train, 10, threads);
  const report = summariseTopK(
    [...scored].map(([user, relevant]) => ({ ranked: ranked.get(user)!, relevant })),
    10,
    train.nItems,
  );
  return { ndcgAt10: report.ndcg, recallAt10: report.recall, users: report.users };
}

/** Every (user, item) pair once with its latest time, over the users who interacted and the whole catalog. */
export function snapshotMatrix(interactions: InteractionColumns): InteractionMatrix {
  const { users, items, keys, times } = snapshotPairs(interactions, true, 'latest');
  return matrixFromPairKeys(keys, times, users, items);
}

/** Items nobody interacted with yet get a zero vector: in the index, but never retrieved by it. */
export async function trainRetrieval(
  interactions: InteractionColumns,
  ials: TrainingConfig['ials'],
  threads: number,
  onEpoch?: (epoch: number, seconds: number) => void,
): Promise<TrainedRetrieval> {
  const started = performance.now();
  const matrix = snapshotMatrix(interactions);
  const { users, items } = matrix;
  const model = new Ials({ ...ials, threads, onEpoch });
  await model.fit(matrix);
  return {
    // Inner product is what iALS scores with; the index must rank by the same measure.
    items: {
      ids: [...items.ids],
      dims: ials.factors,
      similarity: 'max_inner_product',
      vectors: Float32Array.from(model.itemVectors),
    },
    users: {
      ids: [...users.ids],
      vectors: Float32Array.from(model.userVectors),
      seen: users.ids.map((_, u) => Array.from(itemsOfUser(matrix, u))),
    },
    fitSeconds: (performance.now() - started) / 1000,
  };
}

import type { Interaction } from './types';

/** Bidirectional map between external string ids and dense 0..n-1 indices. */
export class IdIndex {
  private readonly byId = new Map<string, number>();

  private constructor(readonly ids: readonly string[]) {
    for (const [index, id] of ids.entries()) this.byId.set(id, index);
  }

  /** Ids are sorted so that indices (and therefore score tie-breaks) do not depend on input order. */
  static of(ids: Iterable<string>): IdIndex {
    return new IdIndex([...new Set(ids)].sort());
  }

  get size(): number {
    return this.ids.length;
  }

  indexOf(id: string): number | undefined {
    return this.byId.get(id);
  }

  require(id: string): number {
    const index = this.byId.get(id);
    if (index === undefined) throw new Error(`unknown id ${JSON.stringify(id)}`);
    return index;
  }
}

/**
 * Binary implicit feedback: every observed (user, item) pair is a positive,
 * whatever its rating (the usual ML-100K top-N convention). Stored twice so
 * user-side and item-side passes (ALS, co-occurrence) both read contiguously.
 */
export interface InteractionMatrix {
  readonly users: IdIndex;
  readonly items: IdIndex;
  readonly nUsers: number;
  readonly nItems: number;
  readonly nnz: number;
  /** CSR: items of user u are userItems[userPtr[u] .. userPtr[u+1]), ascending. */
  readonly userPtr: Int32Array;
  readonly userItems: Int32Array;
  /** Aligned with userItems: the latest timestamp of that (user, item) pair. */
  readonly userTimes: Float64Array;
  /** CSC: users of item i are itemUsers[itemPtr[i] .. itemPtr[i+1]), ascending. */
  readonly itemPtr: Int32Array;
  readonly itemUsers: Int32Array;
  /** Aligned with itemUsers: position of the same pair in userItems, to read CSR-aligned values column-wise. */
  readonly itemEntries: Int32Array;
}

export function indexInteractions(interactions: readonly Interaction[]): { users: IdIndex; items: IdIndex } {
  return {
    users: IdIndex.of(interactions.map((x) => x.user)),
    items: IdIndex.of(interactions.map((x) => x.item)),
  };
}

/**
 * Builds the matrix over a fixed index so train, validation and test matrices
 * share one id space. Repeated (user, item) pairs collapse to one positive.
 */
export function buildInteractionMatrix(
  interactions: readonly Interaction[],
  users: IdIndex,
  items: IdIndex,
): InteractionMatrix {
  const nItems = items.size;
  const latest = new Map<number, number>();
  for (const x of interactions) {
    const key = users.require(x.user) * nItems + items.require(x.item);
    const seen = latest.get(key);
    if (seen === undefined || x.timestamp > seen) latest.set(key, x.timestamp);
  }
  const keys = Float64Array.from(latest.keys()).sort();
  return matrixFromPairKeys(
    keys,
    Float64Array.from(keys, (key) => latest.get(key)!),
    users,
    items,
  );
}

/**
 * The CSR/CSC build itself, from ascending, distinct pair keys `user · nItems + item` and the
 * timestamp of each pair: shared by the object path above and by columnar data at scale, where
 * millions of interaction objects would cost more than the build.
 */
export function matrixFromPairKeys(
  keys: Float64Array,
  times: Float64Array,
  users: IdIndex,
  items: IdIndex,
): InteractionMatrix {
  const nUsers = users.size;
  const nItems = items.size;
  const nnz = keys.length;

  const userPtr = new Int32Array(nUsers + 1);
  const userItems = new Int32Array(nnz);
  const itemPtr = new Int32Array(nItems + 1);
  for (let n = 0; n < nnz; n++) {
    userPtr[Math.floor(keys[n] / nItems) + 1]++;
    itemPtr[(keys[n] % nItems) + 1]++;
  }
  for (let u = 0; u < nUsers; u++) userPtr[u + 1] += userPtr[u];
  for (let i = 0; i < nItems; i++) itemPtr[i + 1] += itemPtr[i];

  const itemUsers = new Int32Array(nnz);
  const itemEntries = new Int32Array(nnz);
  const itemFill = itemPtr.slice(0, nItems);
  // keys are sorted by (user, item), so rows fill in order and columns receive users ascending.
  for (let n = 0; n < nnz; n++) {
    const u = Math.floor(keys[n] / nItems);
    const i = keys[n] % nItems;
    userItems[n] = i;
    itemEntries[itemFill[i]] = n;
    itemUsers[itemFill[i]++] = u;
  }
  return {
    users,
    items,
    nUsers,
    nItems,
    nnz,
    userPtr,
    userItems,
    userTimes: times,
    itemPtr,
    itemUsers,
    itemEntries,
  };
}

/** Interactions as columns in a matrix's index spaces: row, column and time of each. */
export interface IndexedColumns {
  readonly length: number;
  row(n: number): number;
  column(n: number): number;
  readonly time: Float64Array;
}

/**
 * Ascending, distinct pair keys `user · nItems + item` and one time per pair, the earliest or the
 * latest of its repeats: what `matrixFromPairKeys` builds from, with no object per interaction.
 * Two stable counting sorts (by item, then by user) order millions of pairs in linear time.
 * A negative row or column leaves the interaction out.
 */
export function collapsePairs(
  columns: IndexedColumns,
  nUsers: number,
  nItems: number,
  keep: 'earliest' | 'latest',
): { keys: Float64Array; times: Float64Array } {
  const { length, time } = columns;
  const rows = new Int32Array(length);
  const byItem = countingOrder(length, nItems, (n) => columns.column(n), null);
  for (let n = 0; n < length; n++) rows[n] = columns.row(n);
  const order = countingOrder(length, nUsers, (n) => rows[n], byItem);
  const kept = order.length;
  let distinct = 0;
  for (let k = 0; k < kept; k++)
    if (
      k === 0 ||
      rows[order[k]] !== rows[order[k - 1]] ||
      columns.column(order[k]) !== columns.column(order[k - 1])
    )
      distinct++;
  const keys = new Float64Array(distinct);
  const times = new Float64Array(distinct);
  let at = -1;
  let last = -1;
  for (let k = 0; k < kept; k++) {
    const n = order[k];
    const key = rows[n] * nItems + columns.column(n);
    if (key !== last) {
      keys[++at] = key;
      times[at] = time[n];
      last = key;
    } else if (keep === 'latest' ? time[n] > times[at] : time[n] < times[at]) times[at] = time[n];
  }
  return { keys, times };
}

/**
 * The positions of `within` (or 0..length-1) stably ordered by `bucket`, leaving out those whose
 * bucket is negative.
 */
function countingOrder(
  length: number,
  buckets: number,
  bucket: (n: number) => number,
  within: Int32Array | null,
): Int32Array {
  const starts = new Int32Array(buckets + 1);
  const from = within ?? Int32Array.from({ length }, (_, n) => n);
  for (const n of from) if (bucket(n) >= 0) starts[bucket(n) + 1]++;
  for (let b = 0; b < buckets; b++) starts[b + 1] += starts[b];
  const order = new Int32Array(starts[buckets]);
  for (const n of from) {
    const b = bucket(n);
    if (b >= 0) order[starts[b]++] = n;
  }
  return order;
}

export function itemsOfUser(matrix: InteractionMatrix, user: number): Int32Array {
  return matrix.userItems.subarray(matrix.userPtr[user], matrix.userPtr[user + 1]);
}

export function usersOfItem(matrix: InteractionMatrix, item: number): Int32Array {
  return matrix.itemUsers.subarray(matrix.itemPtr[item], matrix.itemPtr[item + 1]);
}

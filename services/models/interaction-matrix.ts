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

export function itemsOfUser(matrix: InteractionMatrix, user: number): Int32Array {
  return matrix.userItems.subarray(matrix.userPtr[user], matrix.userPtr[user + 1]);
}

export function usersOfItem(matrix: InteractionMatrix, item: number): Int32Array {
  return matrix.itemUsers.subarray(matrix.itemPtr[item], matrix.itemPtr[item + 1]);
}

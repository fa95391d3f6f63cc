import type { InteractionMatrix } from './interaction-matrix';

/**
 * Per-interaction weights 2^(−m/h), aligned with `userItems`, where m is how
 * many of the user's items are strictly more recent and h is the half-life in
 * items. Positions rather than clock time because MovieLens histories come in
 * bursts (dozens of ratings in one sitting, then months of silence). Items
 * sharing a timestamp share a weight, so arbitrary tie order carries no signal.
 */
export function recencyWeights(train: InteractionMatrix, halfLife: number): Float32Array {
  const weights = new Float32Array(train.nnz);
  for (let u = 0; u < train.nUsers; u++) {
    const from = train.userPtr[u];
    const times = Array.from(train.userTimes.subarray(from, train.userPtr[u + 1])).sort((a, b) => b - a);
    for (let n = from; n < train.userPtr[u + 1]; n++) {
      const moreRecent = countGreater(times, train.userTimes[n]);
      weights[n] = 2 ** (-moreRecent / halfLife);
    }
  }
  return weights;
}

/** Number of entries greater than `t` in a descending array (binary search). */
export function countGreater(descending: ArrayLike<number>, t: number): number {
  let lo = 0;
  let hi = descending.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (descending[mid] > t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

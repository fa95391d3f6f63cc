const NOTHING = new Int32Array(0);

/**
 * Indices of the `k` highest scores, best first, in O(n log k) with a bounded
 * min-heap instead of a full sort of the catalogue.
 *
 * `exclude` must be ascending (a CSR row is) so it is merged in one pass
 * rather than looked up per item. Ties go to the lower index, so rankings are
 * reproducible; NaN scores are never returned.
 */
export function topK(scores: ArrayLike<number>, k: number, exclude: ArrayLike<number> = NOTHING): Int32Array {
  const heapScore = new Float64Array(k);
  const heapIndex = new Int32Array(k);
  let size = 0;
  let next = 0;
  for (let i = 0; i < scores.length; i++) {
    while (next < exclude.length && exclude[next] < i) next++;
    if (next < exclude.length && exclude[next] === i) continue;
    const s = scores[i];
    if (Number.isNaN(s)) continue;
    if (size < k) {
      siftUp(heapScore, heapIndex, size, s, i);
      size++;
    } else if (k > 0 && s > heapScore[0]) {
      // Equal scores never displace the root: items arrive in ascending index order, so the root wins ties.
      siftDown(heapScore, heapIndex, size, s, i);
    }
  }
  const out = new Int32Array(size);
  for (let r = size - 1; r >= 0; r--) {
    out[r] = heapIndex[0];
    siftDown(heapScore, heapIndex, r, heapScore[r], heapIndex[r]);
  }
  return out;
}

/** Min-heap order: lower score first, and among equal scores the higher index (the worse rank) first. */
function worse(scoreA: number, indexA: number, scoreB: number, indexB: number): boolean {
  return scoreA < scoreB || (scoreA === scoreB && indexA > indexB);
}

function siftUp(heapScore: Float64Array, heapIndex: Int32Array, at: number, s: number, index: number): void {
  let pos = at;
  while (pos > 0) {
    const parent = (pos - 1) >> 1;
    if (!worse(s, index, heapScore[parent], heapIndex[parent])) break;
    heapScore[pos] = heapScore[parent];
    heapIndex[pos] = heapIndex[parent];
    pos = parent;
  }
  heapScore[pos] = s;
  heapIndex[pos] = index;
}

/** Replaces the root with (s, index) and restores heap order over the first `size` slots. */
function siftDown(
  heapScore: Float64Array,
  heapIndex: Int32Array,
  size: number,
  s: number,
  index: number,
): void {
  let pos = 0;
  for (;;) {
    const left = 2 * pos + 1;
    if (left >= size) break;
    const right = left + 1;
    let child = left;
    if (right < size && worse(heapScore[right], heapIndex[right], heapScore[left], heapIndex[left]))
      child = right;
    if (!worse(heapScore[child], heapIndex[child], s, index)) break;
    heapScore[pos] = heapScore[child];
    heapIndex[pos] = heapIndex[child];
    pos = child;
  }
  heapScore[pos] = s;
  heapIndex[pos] = index;
}

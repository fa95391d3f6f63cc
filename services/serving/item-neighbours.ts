/**
 * Item-item neighbours: "people who liked this also liked". A release may publish them as a
 * table; otherwise they are computed on first use from the release's training histories and
 * kept, so each item costs one pass over its users' histories once per release.
 */

export interface NeighbourList {
  items: Int32Array;
  scores: Float32Array;
}

export interface ItemNeighbours {
  /** The item's nearest items, best first, itself excluded. */
  of(item: number): NeighbourList;
}

/** Unit-length copies of the rows: cosine becomes a dot product. */
export function unitRows(vectors: Float32Array, dims: number): Float32Array {
  const unit = new Float32Array(vectors.length);
  for (let base = 0; base < vectors.length; base += dims) {
    let norm = 0;
    for (let d = 0; d < dims; d++) norm += vectors[base + d] * vectors[base + d];
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let d = 0; d < dims; d++) unit[base + d] = vectors[base + d] * scale;
  }
  return unit;
}

/**
 * Neighbours by co-occurrence in the release's training histories (item-based collaborative
 * filtering): cosine between two items' user sets, each user's vote damped by the length of
 * their history so a few heavy users do not make everything similar. Computed per item on
 * first use and kept.
 */
export class HistoryNeighbours implements ItemNeighbours {
  private readonly cache = new Map<number, NeighbourList>();
  private readonly usersOf: Int32Array[];
  private readonly weightOf: Float32Array;
  private readonly itemNorm: Float32Array;
  private readonly scores: Float32Array;

  constructor(
    private readonly seen: readonly Int32Array[],
    nItems: number,
    private readonly k: number,
  ) {
    const counts = new Int32Array(nItems);
    for (const row of seen) for (const item of row) counts[item]++;
    this.usersOf = Array.from(counts, (n) => new Int32Array(n));
    const fill = new Int32Array(nItems);
    this.weightOf = Float32Array.from(seen, (row) => 1 / Math.log2(2 + row.length));
    const norm = new Float64Array(nItems);
    seen.forEach((row, u) => {
      for (const item of row) {
        this.usersOf[item][fill[item]++] = u;
        norm[item] += this.weightOf[u] ** 2;
      }
    });
    this.itemNorm = Float32Array.from(norm, Math.sqrt);
    this.scores = new Float32Array(nItems);
  }

  of(item: number): NeighbourList {
    const cached = this.cache.get(item);
    if (cached !== undefined) return cached;
    const scores = this.scores;
    const touched: number[] = [];
    for (const u of this.usersOf[item]) {
      const w = this.weightOf[u] ** 2;
      for (const other of this.seen[u]) {
        if (scores[other] === 0) touched.push(other);
        scores[other] += w;
      }
    }
    for (const other of touched) scores[other] /= this.itemNorm[item] * this.itemNorm[other];
    scores[item] = 0;
    const ranked = touched.filter((other) => other !== item).sort((a, b) => scores[b] - scores[a] || a - b);
    const top = ranked.slice(0, this.k);
    const result = { items: Int32Array.from(top), scores: Float32Array.from(top, (i) => scores[i]) };
    for (const other of touched) scores[other] = 0;
    this.cache.set(item, result);
    return result;
  }
}

/** A published table: per item, its neighbours' indexes and scores. */
export class TableNeighbours implements ItemNeighbours {
  constructor(private readonly rows: readonly NeighbourList[]) {}

  of(item: number): NeighbourList {
    return this.rows[item] ?? { items: new Int32Array(0), scores: new Float32Array(0) };
  }
}

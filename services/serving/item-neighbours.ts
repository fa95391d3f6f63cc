/**
 * Item-item neighbours: "people who liked this also liked". A release may publish them as a
 * table; otherwise they are computed on first use from the release's item vectors (cosine) and
 * kept, so each item costs one pass over the catalog once per release.
 */
import { topK } from '../evaluation/topk';

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

export class VectorNeighbours implements ItemNeighbours {
  private readonly cache = new Map<number, NeighbourList>();
  private readonly scores: Float32Array;

  constructor(
    private readonly unit: Float32Array,
    private readonly dims: number,
    private readonly k: number,
  ) {
    this.scores = new Float32Array(unit.length / dims);
  }

  of(item: number): NeighbourList {
    const cached = this.cache.get(item);
    if (cached !== undefined) return cached;
    const unit = this.unit;
    const dims = this.dims;
    const scores = this.scores;
    const base = item * dims;
    for (let row = 0; row < scores.length; row++) {
      let dot = 0;
      const other = row * dims;
      for (let d = 0; d < dims; d++) dot += unit[base + d] * unit[other + d];
      scores[row] = dot;
    }
    // A zero vector (an item nobody interacted with) has no neighbours worth proposing.
    const result = isZero(unit, base, dims)
      ? { items: new Int32Array(0), scores: new Float32Array(0) }
      : pick(scores, topK(scores, this.k, Int32Array.of(item)));
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

function isZero(v: Float32Array, base: number, dims: number): boolean {
  for (let d = 0; d < dims; d++) if (v[base + d] !== 0) return false;
  return true;
}

function pick(scores: Float32Array, items: Int32Array): NeighbourList {
  return { items: Int32Array.from(items), scores: Float32Array.from(items, (i) => scores[i]) };
}

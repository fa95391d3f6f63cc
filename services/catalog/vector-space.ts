/**
 * How a release's vectors sit in its kNN index. Inner-product vectors (`max_inner_product`,
 * iALS factors) are not indexed as they are: an HNSW graph over inner product searches poorly
 * once it is one graph. On 200,000 clustered 64-dim synthetic items merged into one segment it
 * found recall@100 0.864 at most, however many candidates it was given (up to 5,000).
 *
 * Each item vector x is stored as [x / B, √(1 − ‖x‖²/B²)], with B a bound on the norms, and a
 * query q is searched as [q / ‖q‖, 0]. Every stored vector has unit length and the dot product
 * of the two is x·q / (B‖q‖): the order is the inner product's, in a `dot_product` (cosine) index
 * where HNSW works well. The same 200,000 items: recall@100 0.978 with 150 candidates, one segment.
 * (Bachrach et al., "Speeding up the Xbox recommender system using a Euclidean transformation for
 * inner-product spaces", RecSys 2014.)
 *
 * One bound is not enough when norms span orders of magnitude, as iALS factors of a long-tailed
 * log do (1M items of a 10M-event synthetic log: median norm 0.012, 99th percentile 0.24, largest
 * 15.1). Under the largest bound nearly every item lies within 0.001 of the sphere's pole, a crowd
 * the graph cannot find its way through: recall@100 0.29 on that release. So the norms are cut
 * into bands, each spanning at most a factor `bandRatio`, and each band is a sphere of its own
 * bound in a vector field of its own; a search asks every band and merges their hits by inner
 * product, which each hit's score gives back exactly (`innerProductOf`).
 */
import type { VectorSimilarity } from './vector-index';

export interface VectorSpace {
  /** The release's vector size; an inner-product index holds one more. */
  dims: number;
  similarity: VectorSimilarity;
  /**
   * Present when inner-product vectors are stored on unit spheres: the bands' norm bounds,
   * largest first. A vector belongs to the band of the smallest bound at or above its norm, or
   * to the first band beyond them all.
   */
  normBounds?: number[];
}

/**
 * Room above the release's largest norm, for vectors written later (cold items from content,
 * fold-ins after warm-up). A vector still beyond the bound is stored at unit length, pointing the
 * same way: its inner products are then understated by the factor B/‖x‖.
 */
const normHeadroom = 1.25;

/**
 * Within a band the norms differ by at most this factor, so its extra coordinate stays below
 * √(1 − 1/16) ≈ 0.97 and the items spread over the sphere.
 */
export const bandRatio = 4;

/**
 * Each band is one more kNN search per query, so the smallest norms share the last band. The 1M
 * items above made four bands (bounds 18.8, 4.7, 1.18, 0.29; the last holds 99% of them), and one
 * merged index of them found recall@100 0.984 for 50 item queries and 1.000 for 50 user queries
 * at 400 candidates a band, where one sphere found 0.288.
 */
export const maxBands = 4;

function normsOf(vectors: Float32Array, dims: number): Float64Array {
  const norms = new Float64Array(vectors.length / dims);
  for (let row = 0; row < norms.length; row++) {
    let squared = 0;
    for (let d = 0; d < dims; d++) squared += vectors[row * dims + d] ** 2;
    norms[row] = Math.sqrt(squared);
  }
  return norms;
}

/** The bounds of the bands that hold at least one of `norms`, at most `maxBands`. */
export function bandBounds(norms: ArrayLike<number>): number[] {
  let largest = 0;
  for (let i = 0; i < norms.length; i++) largest = Math.max(largest, norms[i]);
  // A release of zero vectors still needs a positive bound.
  const top = normHeadroom * (largest || 1);
  const used = new Set<number>();
  for (let i = 0; i < norms.length; i++)
    if (norms[i] > 0)
      used.add(Math.min(maxBands - 1, Math.floor(Math.log(top / norms[i]) / Math.log(bandRatio))));
  // The top band is kept even when empty: vectors written later beyond the release's go there.
  used.add(0);
  return [...used].sort((a, b) => a - b).map((level) => top / bandRatio ** level);
}

/** The space a release's item vectors (row-major, `dims` per row) are indexed in. */
export function releaseVectorSpace(items: {
  dims: number;
  similarity: VectorSimilarity;
  vectors: Float32Array;
}): VectorSpace {
  const { dims, similarity, vectors } = items;
  return similarity === 'max_inner_product'
    ? { dims, similarity, normBounds: bandBounds(normsOf(vectors, dims)) }
    : { dims, similarity };
}

/** The vector fields of an index, one per band; the first keeps the name of an unbanded index. */
export function vectorFields(space: VectorSpace): string[] {
  const bands = space.normBounds?.length ?? 1;
  return Array.from({ length: bands }, (_, band) => (band === 0 ? 'vector' : `vector_${band}`));
}

/** The dims of the index's vector fields. */
export const indexedDims = (space: VectorSpace): number =>
  space.dims + (space.normBounds === undefined ? 0 : 1);

/** The similarity of the index's vector fields. */
export const indexedSimilarity = (space: VectorSpace): VectorSimilarity =>
  space.normBounds === undefined ? space.similarity : 'dot_product';

function bandOf(bounds: readonly number[], norm: number): number {
  let band = 0;
  while (band + 1 < bounds.length && norm <= bounds[band + 1]) band++;
  return band;
}

export interface StoredVector {
  field: string;
  values: number[];
}

/**
 * The vector as the index holds it, and its field; none for a zero vector. A zero vector has no
 * direction (an item no one interacted with): it ties with every item under inner product, a
 * cosine index refuses it, and on the unit sphere every such item became the same point, a
 * cluster of duplicates that cut the graph's search short (a third of 6,000 items: recall@100
 * 0.645). Its document is indexed without a vector, so it is never a kNN candidate.
 */
export function storedVector(space: VectorSpace, vector: ArrayLike<number>): StoredVector | undefined {
  const values = Array.from(vector);
  const norm = Math.hypot(...values);
  if (norm === 0) return undefined;
  const fields = vectorFields(space);
  const bounds = space.normBounds;
  if (bounds === undefined) return { field: fields[0], values };
  const band = bandOf(bounds, norm);
  const bound = bounds[band];
  return {
    field: fields[band],
    values:
      norm > bound
        ? [...values.map((x) => x / norm), 0]
        : [...values.map((x) => x / bound), Math.sqrt(Math.max(0, 1 - (norm / bound) ** 2))],
  };
}

/** What one band (or an unbanded index) is searched with. */
export interface BandQuery {
  field: string;
  vector: number[];
  /** Turns the band's hit scores into inner products; absent for an unbanded index. */
  innerProductOf?: (score: number) => number;
}

/** One query per band: the same unit vector, each band's own field and scale. */
export function searchVectors(space: VectorSpace, vector: ArrayLike<number>): BandQuery[] {
  const values = Array.from(vector);
  const fields = vectorFields(space);
  const bounds = space.normBounds;
  if (bounds === undefined) return [{ field: fields[0], vector: values }];
  const norm = Math.hypot(...values);
  // A zero query scores every item 0 under inner product; any unit vector keeps that tie.
  const unit = norm === 0 ? [...values, 1] : [...values.map((x) => x / norm), 0];
  // Elasticsearch scores a `dot_product` hit (1 + u·v) / 2, and u·v = x·q / (B‖q‖) in its band.
  return bounds.map((bound, band) => ({
    field: fields[band],
    vector: unit,
    innerProductOf: (score) => (2 * score - 1) * bound * norm,
  }));
}

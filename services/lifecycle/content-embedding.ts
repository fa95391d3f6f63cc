/**
 * The content→embedding map: a ridge regression from an item's content (categories, release
 * year bucket, hashed words of title and text) onto the collaborative item factors of a release,
 * so an item nobody has interacted with yet gets a vector in the same space as the trained ones
 * and competes in the same kNN. Fitted on the release's items that have a collaborative signal
 * (a non-zero factor row); the category vocabulary is frozen with the weights, so the same
 * content always maps to the same vector under one release.
 */
import { invertSymmetricPositiveDefinite } from '../models/dense-linear-algebra';
import { titleTokens, YEAR_BUCKETS, yearBucket } from '../models/two-tower/features';

export interface ItemContent {
  title: string;
  categories: readonly string[];
  year: number | null;
  text: string;
}

export interface ContentMapOptions {
  /** L2 penalty on the weights: pulls rare features' contributions towards the mean item. */
  lambda: number;
  /** Hash buckets for the words of title and text. */
  wordBuckets: number;
}

export const defaultContentMapOptions: ContentMapOptions = { lambda: 1, wordBuckets: 512 };

export interface ContentMap {
  categories: string[];
  wordBuckets: number;
  dims: number;
  /** features × dims, row-major. */
  weights: Float64Array;
  /** Items the map was fitted on. */
  fittedItems: number;
}

interface SparseFeatures {
  index: number[];
  value: number[];
}

/** Column layout: bias, categories, year buckets, word buckets. */
function featureCount(categories: number, wordBuckets: number): number {
  return 1 + categories + YEAR_BUCKETS + wordBuckets;
}

function featuresOf(content: ItemContent, categoryColumn: ReadonlyMap<string, number>, wordBuckets: number) {
  const features: SparseFeatures = { index: [0], value: [1] };
  const known = content.categories.filter((c) => categoryColumn.has(c));
  // Multi-hot rows of unit norm: an item in five categories is not five times as far out.
  for (const category of known) {
    features.index.push(1 + (categoryColumn.get(category) as number));
    features.value.push(1 / Math.sqrt(known.length));
  }
  features.index.push(1 + categoryColumn.size + yearBucket(content.year));
  features.value.push(1);
  const words = new Map<number, number>();
  for (const bucket of titleTokens(`${content.title} ${content.text}`, wordBuckets))
    words.set(bucket, (words.get(bucket) ?? 0) + 1);
  const norm = Math.sqrt([...words.values()].reduce((s, c) => s + c * c, 0)) || 1;
  for (const [bucket, count] of words) {
    features.index.push(1 + categoryColumn.size + YEAR_BUCKETS + bucket);
    features.value.push(count / norm);
  }
  return features;
}

const columnsOf = (categories: readonly string[]) => new Map(categories.map((c, i) => [c, i]));

/**
 * W = (XᵀX + λI)⁻¹ XᵀY over the items that have both content and a non-zero factor row.
 * Features are sparse (a dozen non-zeros per item), so XᵀX costs items × nnz², not items × d².
 */
export function fitContentMap(
  factors: { ids: readonly string[]; dims: number; vectors: Float32Array },
  content: ReadonlyMap<string, ItemContent>,
  options: ContentMapOptions = defaultContentMapOptions,
): ContentMap {
  const { dims, vectors } = factors;
  const rows: { features: SparseFeatures; row: number }[] = [];
  const categories = new Set<string>();
  factors.ids.forEach((id, row) => {
    const item = content.get(id);
    if (item === undefined) return;
    const target = vectors.subarray(row * dims, (row + 1) * dims);
    if (target.every((x) => x === 0)) return;
    for (const category of item.categories) categories.add(category);
    rows.push({ features: { index: [], value: [] }, row });
  });
  if (rows.length === 0) throw new Error('no item has both content and a collaborative vector to fit on');
  const vocabulary = [...categories].sort();
  const columns = columnsOf(vocabulary);
  const d = featureCount(vocabulary.length, options.wordBuckets);
  const gram = new Float64Array(d * d);
  const xty = new Float64Array(d * dims);
  for (const entry of rows) {
    entry.features = featuresOf(
      content.get(factors.ids[entry.row]) as ItemContent,
      columns,
      options.wordBuckets,
    );
    const { index, value } = entry.features;
    for (let a = 0; a < index.length; a++) {
      for (let b = 0; b < index.length; b++) gram[index[a] * d + index[b]] += value[a] * value[b];
      const base = entry.row * dims;
      for (let f = 0; f < dims; f++) xty[index[a] * dims + f] += value[a] * vectors[base + f];
    }
  }
  for (let j = 0; j < d; j++) gram[j * d + j] += options.lambda;
  const inverse = invertSymmetricPositiveDefinite(gram, d);
  const weights = new Float64Array(d * dims);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) {
      const a = inverse[i * d + j];
      if (a === 0) continue;
      for (let f = 0; f < dims; f++) weights[i * dims + f] += a * xty[j * dims + f];
    }
  return {
    categories: vocabulary,
    wordBuckets: options.wordBuckets,
    dims,
    weights,
    fittedItems: rows.length,
  };
}

export function embedContent(map: ContentMap, content: ItemContent): Float32Array {
  const { index, value } = featuresOf(content, columnsOf(map.categories), map.wordBuckets);
  const vector = new Float32Array(map.dims);
  for (let n = 0; n < index.length; n++)
    for (let f = 0; f < map.dims; f++) vector[f] += value[n] * map.weights[index[n] * map.dims + f];
  return vector;
}

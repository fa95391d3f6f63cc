/**
 * Item vectors as a registry artifact: `item-ids.json` (string[]) and `item-vectors.f32`
 * (row-major float32, little-endian, one row of `dims` per id), plus exact nearest-neighbour
 * search over them, the ground truth an ANN index's recall is measured against.
 */
import { topK } from '../evaluation/topk';
import type { ModelRegistry } from '../registry/model-registry';
import type { VectorSimilarity } from './vector-index';

export interface ItemVectors {
  ids: string[];
  dims: number;
  similarity: VectorSimilarity;
  vectors: Float32Array;
}

export const itemVectorFiles = { ids: 'item-ids.json', vectors: 'item-vectors.f32' } as const;

export function encodeItemVectors(v: ItemVectors): Record<string, Uint8Array> {
  if (v.vectors.length !== v.ids.length * v.dims) throw new Error('item vectors do not match ids × dims');
  return {
    [itemVectorFiles.ids]: new TextEncoder().encode(JSON.stringify(v.ids)),
    [itemVectorFiles.vectors]: new Uint8Array(v.vectors.buffer, v.vectors.byteOffset, v.vectors.byteLength),
  };
}

export async function readItemVectors(
  registry: ModelRegistry,
  family: string,
  version: string,
): Promise<ItemVectors> {
  const release = await registry.release(family, version);
  if (release === undefined) throw new Error(`no release ${family} ${version}`);
  const { dims, similarity } = release.metadata as { dims: number; similarity: VectorSimilarity };
  const ids = JSON.parse(
    new TextDecoder().decode(await registry.artifact(family, version, itemVectorFiles.ids)),
  ) as string[];
  const raw = await registry.artifact(family, version, itemVectorFiles.vectors);
  // Copy into an aligned buffer: a Float32Array view needs a 4-byte aligned offset.
  const vectors = new Float32Array(raw.byteLength / 4);
  new Uint8Array(vectors.buffer).set(raw);
  return { ids, dims, similarity, vectors };
}

/** Indexes of the k rows most similar to `query` under the index's similarity, best first. */
export function exactNeighbours(items: ItemVectors, query: Float32Array, k: number): Int32Array {
  const { dims, vectors } = items;
  const n = items.ids.length;
  const scores = new Float32Array(n);
  const queryNorm = Math.hypot(...query);
  for (let row = 0; row < n; row++) {
    let dot = 0;
    let norm = 0;
    const base = row * dims;
    for (let d = 0; d < dims; d++) {
      const x = vectors[base + d];
      dot += x * query[d];
      norm += x * x;
    }
    if (items.similarity === 'cosine') scores[row] = dot / (Math.sqrt(norm) * queryNorm || 1);
    else if (items.similarity === 'l2_norm') scores[row] = -(norm - 2 * dot + queryNorm * queryNorm);
    else scores[row] = dot;
  }
  return topK(scores, k);
}

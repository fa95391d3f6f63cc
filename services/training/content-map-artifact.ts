/**
 * The content→embedding map as release artifacts: `content-map.json` (category vocabulary, word
 * buckets, dims, fitted items) and `content-map.f32` (the weights, features × dims, row-major,
 * little-endian). A release without them is older than the map's publication.
 */
import type { ContentMap } from '../lifecycle/content-embedding';
import type { ModelRegistry } from '../registry/model-registry';

export const contentMapFiles = { meta: 'content-map.json', weights: 'content-map.f32' } as const;

type ContentMapMeta = Omit<ContentMap, 'weights'>;

export function encodeContentMap(map: ContentMap): Record<string, Uint8Array> {
  const meta: ContentMapMeta = {
    categories: map.categories,
    wordBuckets: map.wordBuckets,
    dims: map.dims,
    fittedItems: map.fittedItems,
  };
  const weights = Float32Array.from(map.weights);
  return {
    [contentMapFiles.meta]: new TextEncoder().encode(JSON.stringify(meta)),
    [contentMapFiles.weights]: new Uint8Array(weights.buffer),
  };
}

export async function readContentMap(
  registry: ModelRegistry,
  family: string,
  version: string,
): Promise<ContentMap | undefined> {
  const release = await registry.release(family, version);
  if (release === undefined) throw new Error(`no release ${family} ${version}`);
  if (!release.artifacts.some((a) => a.file === contentMapFiles.weights)) return undefined;
  const meta = JSON.parse(
    new TextDecoder().decode(await registry.artifact(family, version, contentMapFiles.meta)),
  ) as ContentMapMeta;
  const raw = await registry.artifact(family, version, contentMapFiles.weights);
  // Copy into an aligned buffer: a Float32Array view needs a 4-byte aligned offset.
  const weights = new Float32Array(raw.byteLength / 4);
  new Uint8Array(weights.buffer).set(raw);
  if (weights.length % meta.dims !== 0)
    throw new Error(
      `release ${family} ${version}: ${contentMapFiles.weights} is not a multiple of ${meta.dims} dims`,
    );
  return { ...meta, weights: Float64Array.from(weights) };
}

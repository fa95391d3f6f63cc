/**
 * Reads a release from the model registry into what the hot state is built from. The files a
 * release may add (`item-neighbours.json`, `cohort-popularity.json`) are used when present and
 * computed from the vectors and histories otherwise.
 */
import { itemVectorFiles } from '../catalog/item-vectors';
import { indexName } from '../catalog/vector-index';
import { decodeFeatureTables } from '../ranking/feature-tables-artifact';
import type { ModelRegistry, ModelRelease } from '../registry/model-registry';
import { twoTowerSource } from '../training/carried-families';
import { retrievalFamily } from '../training/families';
import { type RankerSpec, rankerFiles } from '../training/release-ranker';
import { type TwoTowerSpec, twoTowerFiles } from '../training/two-tower-release';
import { TwoTowerCandidates } from './generators/two-tower';
import { buildHotState, type HotState, type ReleaseArtifacts, warmNeighbours } from './hot-state';
import type { LiveCatalog } from './live-catalog';
import { OnnxRankingStage } from './rank/onnx-ranker';
import { type ServingConfig, ServingConfigError } from './serving-config';

/** Candidates per request the ranker's buffers are sized for: every generator's full list. */
const rankerCapacity = 1_024;

export const releaseFiles = {
  itemIds: itemVectorFiles.ids,
  itemVectors: itemVectorFiles.vectors,
  userIds: 'user-ids.json',
  userVectors: 'user-vectors.f32',
  seen: 'user-seen.json',
  neighbours: 'item-neighbours.json',
  cohortPopularity: 'cohort-popularity.json',
} as const;

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The user half of a retrieval release as `readRelease` reads it; the item half is `encodeItemVectors`. */
export function encodeUserFiles(users: {
  ids: readonly string[];
  vectors: Float32Array;
  seen: readonly (readonly number[])[];
}): Record<string, Uint8Array> {
  return {
    [releaseFiles.userIds]: encoder.encode(JSON.stringify(users.ids)),
    [releaseFiles.userVectors]: new Uint8Array(
      users.vectors.buffer,
      users.vectors.byteOffset,
      users.vectors.byteLength,
    ),
    [releaseFiles.seen]: encoder.encode(JSON.stringify(users.seen)),
  };
}

export async function readRelease(registry: ModelRegistry, release: ModelRelease): Promise<ReleaseArtifacts> {
  const read = (file: string) => registry.artifact(release.family, release.version, file);
  const json = async <T>(file: string) => JSON.parse(decoder.decode(await read(file))) as T;
  const optional = async <T>(file: string) =>
    release.artifacts.some((a) => a.file === file) ? json<T>(file) : undefined;
  const floats = async (file: string) => {
    const bytes = await read(file);
    // Copy into an aligned buffer: a Float32Array view needs a 4-byte aligned offset.
    const aligned = new Float32Array(bytes.byteLength / 4);
    new Uint8Array(aligned.buffer).set(bytes);
    return aligned;
  };
  return {
    family: release.family,
    version: release.version,
    dims: (release.metadata as { dims: number }).dims,
    itemIds: await json<string[]>(releaseFiles.itemIds),
    itemVectors: await floats(releaseFiles.itemVectors),
    userIds: await json<string[]>(releaseFiles.userIds),
    userVectors: await floats(releaseFiles.userVectors),
    seen: await json<number[][]>(releaseFiles.seen),
    neighbours: await optional<[number[], number[]][]>(releaseFiles.neighbours),
    cohortPopularity: await optional<Record<string, number[]>>(releaseFiles.cohortPopularity),
  };
}

/**
 * Whether serving can use the release's ranker, and why not when it cannot: a ranker that lost
 * (or was never trained) keeps the generators' order, and so does a release published before
 * the ranker as one `ranker.onnx` graph, whose metadata may say its ranker won but whose files
 * serving cannot load.
 */
export function rankerVerdict(release: ModelRelease): { use: true } | { use: false; reason: string } {
  const spec = release.metadata.ranker as Partial<RankerSpec> | undefined;
  if (spec === undefined) return { use: false, reason: 'the release carries no ranker' };
  if (spec.won !== true) return { use: false, reason: spec.reason ?? 'its ranker did not win its gate' };
  const missing = [rankerFiles.model, rankerFiles.features].filter(
    (file) => !release.artifacts.some((a) => a.file === file),
  );
  if (missing.length > 0)
    return { use: false, reason: `an older release format without ${missing.join(' and ')}` };
  return { use: true };
}

async function readRanker(
  registry: ModelRegistry,
  release: ModelRelease,
  items: HotState['items'],
): Promise<OnnxRankingStage> {
  const read = (file: string) => registry.artifact(release.family, release.version, file);
  return OnnxRankingStage.load(
    { onnx: await read(rankerFiles.model), tables: decodeFeatureTables(await read(rankerFiles.features)) },
    rankerCapacity,
    items,
  );
}

/**
 * The two-tower candidates for new users that serve with the release: its own towers when they
 * won their gate, else the champion's it carried over (`carried-families.ts`), else none.
 */
async function readTwoTower(
  registry: ModelRegistry,
  release: ModelRelease,
  itemIds: readonly string[],
): Promise<TwoTowerCandidates | undefined> {
  const source = twoTowerSource(release);
  if (source === undefined) return undefined;
  const towers = source === release.version ? release : await registry.release(release.family, source);
  if (towers === undefined)
    throw new Error(
      `${release.family} ${release.version} carries the towers of ${source}, which the registry does not hold`,
    );
  const spec = towers.metadata.twoTower as TwoTowerSpec | undefined;
  if (spec?.won !== true || !('serveUpTo' in spec) || spec.serveUpTo === undefined) return undefined;
  const read = (file: string) => registry.artifact(towers.family, towers.version, file);
  const vectors = await read(twoTowerFiles.itemVectors);
  const itemVectors = new Float32Array(vectors.byteLength / 4);
  new Uint8Array(itemVectors.buffer).set(vectors);
  return TwoTowerCandidates.load(
    {
      userTower: await read(twoTowerFiles.userTower),
      itemIds: JSON.parse(decoder.decode(await read(twoTowerFiles.itemIds))) as string[],
      itemVectors,
    },
    { ...spec, serveUpTo: spec.serveUpTo },
    itemIds,
  );
}

/** The hot state of a release, searched through the index its backfill wrote for it. */
export async function loadHotState(
  registry: ModelRegistry,
  release: ModelRelease,
  catalog: LiveCatalog,
  itemsAlias: string,
): Promise<HotState> {
  const artifacts = await readRelease(registry, release);
  const state = buildHotState(
    artifacts,
    catalog,
    indexName(itemsAlias, `${release.family}-${release.version}`),
  );
  await warmNeighbours(state);
  const twoTower = await readTwoTower(registry, release, artifacts.itemIds);
  const withTwoTower = twoTower === undefined ? state : { ...state, twoTower };
  const verdict = rankerVerdict(release);
  if (!verdict.use) return { ...withTwoTower, withoutRanker: verdict.reason };
  const ranker = await readRanker(registry, release, state.items);
  return { ...withTwoTower, ranker, modelVersions: { ...state.modelVersions, ranker: release.version } };
}

/**
 * The releases the config's variants pin, read once at start: a version the registry does not
 * hold is an error of the config, refused before the replica serves, not on each request.
 */
export async function readPinnedReleases(
  registry: Pick<ModelRegistry, 'release' | 'releases'>,
  config: ServingConfig,
): Promise<Map<string, ModelRelease>> {
  const pinned = new Map<string, ModelRelease>();
  const unknown: string[] = [];
  for (const variant of config.variants) {
    const version = variant.models?.release;
    if (version === undefined || pinned.has(version)) continue;
    const release = await registry.release(retrievalFamily, version);
    if (release === undefined) unknown.push(`variant '${variant.name}' pins release '${version}'`);
    else pinned.set(version, release);
  }
  if (unknown.length > 0) {
    const known = (await registry.releases(retrievalFamily))
      .sort((a, b) => b.publishedAt.localeCompare(a.publishedAt))
      .map((r) => r.version);
    throw new ServingConfigError(
      `invalid serving config: ${unknown.join('; ')}, which the registry does not hold (${retrievalFamily} releases: ${
        known.length === 0 ? 'none' : known.join(', ')
      })`,
    );
  }
  return pinned;
}

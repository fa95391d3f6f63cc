/**
 * Everything a request reads, in memory and immutable once built: the champion's vectors, the
 * seen lists, popularity by cohort and item neighbours, plus the live catalog (shared across
 * releases, updated in place by the catalog feed). A promotion builds a new state aside and
 * swaps one reference; a request keeps the state it started with.
 */

import type { TwoTowerCandidates } from './generators/two-tower';
import {
  HistoryNeighbours,
  type ItemNeighbours,
  type NeighbourList,
  TableNeighbours,
  unitRows,
} from './item-neighbours';
import type { LiveCatalog } from './live-catalog';
import { popularityTables } from './popularity-tables';
import type { OnnxRankingStage } from './rank/onnx-ranker';

/** What a release provides. The optional parts are computed here when a release lacks them. */
export interface ReleaseArtifacts {
  family: string;
  version: string;
  dims: number;
  itemIds: string[];
  itemVectors: Float32Array;
  userIds: string[];
  userVectors: Float32Array;
  /** Per user, indexes into `itemIds` of the training history. */
  seen: number[][];
  /** `item-neighbours.json`: per item, [neighbour indexes, scores]. */
  neighbours?: [number[], number[]][];
  /** `cohort-popularity.json`: per cohort key, item indexes by popularity. */
  cohortPopularity?: Record<string, number[]>;
}

export interface ItemTable {
  ids: string[];
  index: Map<string, number>;
  dims: number;
  vectors: Float32Array;
  /** Unit-length rows, for cosine similarity (neighbours, MMR). */
  unit: Float32Array;
}

export interface HotState {
  family: string;
  version: string;
  /** The release's own index: a request never pairs one release's vectors with another's index. */
  vectorIndex: string;
  modelVersions: Record<string, string>;
  items: ItemTable;
  users: { index: Map<string, number>; vectors: Float32Array; seen: Int32Array[] };
  /** The mean item vector: under inner product it ranks items roughly by popularity. */
  coldStart: Float32Array;
  popularity: { global: Int32Array; byCohort: Map<string, Int32Array> };
  neighbours: ItemNeighbours;
  catalog: LiveCatalog;
  /** The release's two-tower candidates for users without a trained vector, when they won their gate. */
  twoTower?: TwoTowerCandidates;
  /** The release's learned ranker, when it won its gate; the generators' blend ranks otherwise. */
  ranker?: OnnxRankingStage;
  /** Why the release serves in the generators' order, when its loader found no ranker to use. */
  withoutRanker?: string;
}

/** Neighbours kept per item: enough for the session generator to propose a few hundred candidates. */
export const neighboursPerItem = 100;
const precomputeNeighboursUpTo = 50_000;

/**
 * Computes a small catalog's neighbours before the state serves, so no request pays for a first
 * use; in slices, so requests served from the previous state meanwhile are not held up.
 */
export async function warmNeighbours(state: HotState): Promise<void> {
  const n = state.items.ids.length;
  if (n > precomputeNeighboursUpTo) return;
  for (let i = 0; i < n; i++) {
    state.neighbours.of(i);
    if (i % 32 === 31) await new Promise((resolve) => setImmediate(resolve));
  }
}

export function buildHotState(
  release: ReleaseArtifacts,
  catalog: LiveCatalog,
  vectorIndex: string,
): HotState {
  const { dims, itemIds, itemVectors } = release;
  if (itemVectors.length !== itemIds.length * dims)
    throw new Error(
      `release ${release.version}: item vectors do not match ${itemIds.length} ids × ${dims} dims`,
    );
  if (release.userVectors.length !== release.userIds.length * dims)
    throw new Error(
      `release ${release.version}: user vectors do not match ${release.userIds.length} ids × ${dims} dims`,
    );
  const unit = unitRows(itemVectors, dims);
  const coldStart = new Float32Array(dims);
  for (let i = 0; i < itemIds.length; i++)
    for (let d = 0; d < dims; d++) coldStart[d] += itemVectors[i * dims + d] / itemIds.length;
  const seen = release.seen.map((row) => Int32Array.from(row).sort());
  const neighbours =
    release.neighbours === undefined
      ? new HistoryNeighbours(seen, itemIds.length, neighboursPerItem)
      : new TableNeighbours(
          release.neighbours.map(
            ([items, scores]): NeighbourList => ({
              items: Int32Array.from(items),
              scores: Float32Array.from(scores),
            }),
          ),
        );
  return {
    family: release.family,
    version: release.version,
    vectorIndex,
    modelVersions: { [release.family]: release.version },
    items: {
      ids: itemIds,
      index: new Map(itemIds.map((id, i) => [id, i])),
      dims,
      vectors: itemVectors,
      unit,
    },
    users: {
      index: new Map(release.userIds.map((id, i) => [id, i])),
      vectors: release.userVectors,
      seen,
    },
    coldStart,
    popularity: popularityOf(release, seen, catalog),
    neighbours,
    catalog,
  };
}

/** Cohort tables a release publishes are used as they are; the rest is counted here. */
function popularityOf(
  release: ReleaseArtifacts,
  seen: Int32Array[],
  catalog: LiveCatalog,
): HotState['popularity'] {
  const published = release.cohortPopularity;
  const counted = popularityTables(seen, release.itemIds.length, (u) =>
    published === undefined ? catalog.cohortOfUser(release.userIds[u]) : undefined,
  );
  if (published === undefined) return counted;
  const byCohort = new Map(
    Object.entries(published).map(([cohort, items]) => [cohort, Int32Array.from(items)]),
  );
  return { global: counted.global, byCohort };
}

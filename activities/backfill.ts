/**
 * Activities of the embedding backfill. Every write is idempotent (document id = item id), so a
 * batch retried after a worker crash rewrites the same documents: no duplicates, no gaps.
 */

import type { Client } from '@elastic/elasticsearch';
import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import { exactNeighbours, type ItemVectors, readItemVectors } from '../services/catalog/item-vectors';
import {
  candidatesFor,
  createVectorIndex,
  finishLoading,
  type ItemVectorDocument,
  mergeSegments,
  nearestItems,
  publishVectorIndex,
  VectorIndexLayoutError,
  writeVectors,
} from '../services/catalog/vector-index';
import { releaseVectorSpace } from '../services/catalog/vector-space';
import { mulberry32 } from '../services/models/random';
import type { ModelRegistry } from '../services/registry/model-registry';

export interface BackfillActivityDeps {
  search: Client;
  registry: ModelRegistry;
  /** The catalog index whose fields (categories, status) vector documents carry for filtering. */
  catalogIndex: string;
}

export interface VectorRelease {
  family: string;
  version: string;
}

export interface PreparedIndex {
  index: string;
  itemCount: number;
}

export interface IndexCheck {
  documents: number;
  recallAt100: number;
  sampledQueries: number;
}

const writeChunk = 1_000;
/**
 * Bulk writes in flight. Elasticsearch indexes each bulk on a write thread of its own, and the
 * HNSW graph inserts it makes are CPU-bound: one at a time left a 2-core node's second core idle
 * and, on a shared machine, got one thread's share of the CPU.
 */
const writesInFlight = 2;
export const requiredRecall = 0.95;
/** Draws per wanted recall query before the check gives up finding items with a vector. */
const maxDrawsPerQuery = 20;

export function createBackfillActivities({ search, registry, catalogIndex }: BackfillActivityDeps) {
  // A worker backfills one release at a time; keeping its vectors saves a registry read per batch.
  let cached: { key: string; vectors: Promise<ItemVectors> } | undefined;
  const vectorsOf = ({ family, version }: VectorRelease) => {
    const key = `${family}/${version}`;
    if (cached?.key !== key) cached = { key, vectors: readItemVectors(registry, family, version) };
    return cached.vectors;
  };

  async function catalogFields(
    ids: string[],
  ): Promise<Map<string, { categories: string[]; status: string }>> {
    const found = await search.mget<{ categories: string[]; status: string }>(
      { index: catalogIndex, ids },
      { ignore: [404] },
    );
    const fields = new Map<string, { categories: string[]; status: string }>();
    for (const doc of found.docs ?? [])
      if ('found' in doc && doc.found && doc._source) fields.set(doc._id, doc._source);
    return fields;
  }

  return {
    async prepareVectorIndex(release: VectorRelease & { alias: string }): Promise<PreparedIndex> {
      const items = await vectorsOf(release);
      const index = await createVectorIndex(search, {
        alias: release.alias,
        version: `${release.family}-${release.version}`,
        ...releaseVectorSpace(items),
      }).catch((error: Error) => {
        throw error instanceof VectorIndexLayoutError
          ? ApplicationFailure.nonRetryable(error.message, error.name)
          : error;
      });
      return { index, itemCount: items.ids.length };
    },

    async writeVectorBatch(
      input: VectorRelease & { index: string; from: number; count: number },
    ): Promise<number> {
      const items = await vectorsOf(input);
      const end = Math.min(input.from + input.count, items.ids.length);
      let next = input.from;
      let written = 0;
      let failed = false;
      const writer = async () => {
        while (next < end && !failed) {
          const start = next;
          next = Math.min(start + writeChunk, end);
          const ids = items.ids.slice(start, next);
          try {
            const catalog = await catalogFields(ids);
            const documents: ItemVectorDocument[] = ids.map((itemId, i) => {
              const row = start + i;
              return {
                itemId,
                categories: catalog.get(itemId)?.categories ?? [],
                status: catalog.get(itemId)?.status ?? 'active',
                vector: Array.from(items.vectors.subarray(row * items.dims, (row + 1) * items.dims)),
              };
            });
            await writeVectors(search, input.index, documents, 'keep');
          } catch (error) {
            // The other writer stops too: the retried activity rewrites the whole range.
            failed = true;
            throw error;
          }
          written += ids.length;
          heartbeat(input.from + written);
        }
      };
      await Promise.all(Array.from({ length: writesInFlight }, writer));
      return end - input.from;
    },

    /** One segment, so a kNN search walks one graph: returns the segments left. */
    async mergeVectorIndex(input: { index: string }): Promise<number> {
      return mergeSegments(search, input.index, () => heartbeat());
    },

    /**
     * Exact count of the release's own documents (items added since by lifecycles do not count),
     * and kNN recall@100 against exact search on a seeded sample.
     */
    async verifyVectorIndex(input: VectorRelease & { index: string; sample: number }): Promise<IndexCheck> {
      const items = await vectorsOf(input);
      const documents = await finishLoading(search, input.index, items.ids);
      if (documents !== items.ids.length)
        throw ApplicationFailure.nonRetryable(
          `${input.index} has ${documents} of the release's ${items.ids.length} items`,
        );
      const random = mulberry32(items.ids.length);
      const k = Math.min(100, items.ids.length);
      let found = 0;
      let queries = 0;
      // An item no one interacted with has a zero vector, which ties with every item under inner
      // product: it has no nearest neighbours to find, so it is no query (21.7% of the items of a
      // synthetic 1M-event retrain were, and the check refused the index for them).
      for (let draws = 0; queries < input.sample && draws < maxDrawsPerQuery * input.sample; draws++) {
        const row = Math.floor(random() * items.ids.length);
        const query = items.vectors.subarray(row * items.dims, (row + 1) * items.dims);
        if (query.every((x) => x === 0)) continue;
        const exact = new Set(Array.from(exactNeighbours(items, query, k), (i) => items.ids[i]));
        const approximate = await nearestItems(search, input.index, Array.from(query), k, candidatesFor(k));
        found += approximate.filter((id) => exact.has(id)).length;
        queries += 1;
        heartbeat(queries);
      }
      if (queries === 0)
        throw ApplicationFailure.nonRetryable(`${input.index}: no sampled item has a non-zero vector`);
      const recallAt100 = found / (queries * k);
      if (recallAt100 < requiredRecall)
        throw ApplicationFailure.nonRetryable(
          `${input.index}: kNN recall@100 ${recallAt100.toFixed(3)} < ${requiredRecall}`,
        );
      return { documents, recallAt100, sampledQueries: queries };
    },

    async publishVectorIndex(input: { alias: string; index: string; keep: number }): Promise<string[]> {
      return publishVectorIndex(search, input.alias, input.index, input.keep);
    },
  };
}

export type BackfillActivities = ReturnType<typeof createBackfillActivities>;

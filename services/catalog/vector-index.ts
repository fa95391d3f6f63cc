/**
 * Versioned item-vector indexes behind the alias `cairn-items`: each model version gets its own
 * index (`cairn-items-<version>`), serving reads the alias, and the alias moves atomically once
 * a new index is complete and verified. Vector documents carry the catalog fields that kNN
 * filters on, so a filtered kNN query needs no join.
 */
import { type Client, errors, type TransportRequestOptions } from '@elastic/elasticsearch';
import { pinnedIndexes } from './index-pins';
import {
  type BandQuery,
  indexedDims,
  indexedSimilarity,
  searchVectors,
  storedVector,
  type VectorSpace,
  vectorFields,
} from './vector-space';

export type VectorSimilarity = 'cosine' | 'dot_product' | 'l2_norm' | 'max_inner_product';

/** Inner-product vectors need their `normBounds` (see vector-space.ts). */
export interface VectorIndexSpec extends VectorSpace {
  alias: string;
  version: string;
}

export interface ItemVectorDocument {
  itemId: string;
  categories: string[];
  status: string;
  vector: number[];
}

export const indexName = (alias: string, version: string) => `${alias}-${version.toLowerCase()}`;

/** Elasticsearch's longest; the translog's size threshold (10 GB) still applies. */
const loadingFlushAge = '1h';

export async function createVectorIndex(client: Client, spec: VectorIndexSpec): Promise<string> {
  if (spec.similarity === 'max_inner_product' && spec.normBounds === undefined)
    throw new Error(`an inner-product index (${spec.version}) needs the norm bounds of its vectors`);
  const index = indexName(spec.alias, spec.version);
  if (await client.indices.exists({ index })) {
    await refuseOtherLayout(client, index, spec);
    return index;
  }
  try {
    await client.indices.create({
      index,
      settings: {
        number_of_shards: 1,
        number_of_replicas: 0,
        // Bulk loading is faster without periodic refreshes; the backfill refreshes once at the end.
        refresh_interval: '-1',
        // Elasticsearch flushes a shard written to at least once a minute by default, and every
        // flush writes the documents buffered so far as a segment with an HNSW graph of its own.
        // A loaded machine indexes few documents a minute, so a load became dozens of small
        // segments whose graphs the merges then built again. Without the timed flush a segment
        // is written when the node's indexing buffer fills; `finishLoading` restores the default.
        'translog.flush_threshold_age': loadingFlushAge,
      },
      mappings: {
        dynamic: 'strict',
        _meta: {
          version: spec.version,
          dims: spec.dims,
          similarity: spec.similarity,
          normBounds: spec.normBounds,
        },
        properties: {
          itemId: { type: 'keyword' },
          categories: { type: 'keyword' },
          status: { type: 'keyword' },
          ...Object.fromEntries(vectorFields(spec).map((field) => [field, vectorMapping(spec)])),
        },
      },
    });
  } catch (error) {
    // Only the race with another attempt is harmless: a refused setting or mapping left the
    // index to be created by the first bulk write, with dynamic mappings and no vector field.
    if (!alreadyExists(error)) throw error;
  }
  return index;
}

function vectorMapping(space: VectorSpace) {
  return {
    type: 'dense_vector' as const,
    dims: indexedDims(space),
    index: true,
    similarity: indexedSimilarity(space),
    // int8 quantisation keeps the HNSW graph in a quarter of the memory; recall is checked.
    // A denser graph than the default (m 16, ef_construction 100): one merged graph of 1M
    // synthetic items on the unit sphere found recall@100 0.892 at 400 candidates with the
    // default, 0.958 with this (p50 6 ms), for about twice the build time.
    index_options: { type: 'int8_hnsw' as const, m: 32, ef_construction: 200 },
  };
}

/** An index of the same name exists with vectors laid out otherwise. */
export class VectorIndexLayoutError extends Error {
  override name = 'VectorIndexLayoutError';
}

/**
 * A retried preparation finds its own index and writes on; an index of the same name from code
 * with another layout (before the unit sphere, say) must not be filled with this layout's vectors
 * and then pass its check: it is refused, named, for someone to delete.
 */
async function refuseOtherLayout(client: Client, index: string, spec: VectorIndexSpec): Promise<void> {
  // A failed read of the mapping (Elasticsearch slow or restarting) is the caller's to retry.
  const found = await vectorSpaceOf(client, index);
  const layout = (space: VectorSpace) =>
    `dims ${space.dims}, ${space.similarity}, norm bounds ${space.normBounds?.join(' ') ?? 'none'}`;
  if (layout(found) !== layout(spec))
    throw new VectorIndexLayoutError(
      `${index} exists with another layout (${layout(found)}; this release: ${layout(spec)}): delete it to build it again`,
    );
}

const alreadyExists = (error: unknown) =>
  error instanceof errors.ResponseError && error.body?.error?.type === 'resource_already_exists_exception';

const spaces = new Map<string, Promise<VectorSpace>>();

/**
 * The vector space of an index, from its mapping, read once per process: an index never changes
 * its mapping, and a versioned name is only ever given to the one release. Indexes written before
 * inner-product vectors were transformed have no norm bound and are searched as they are.
 */
export function vectorSpaceOf(
  client: Client,
  index: string,
  options?: TransportRequestOptions,
): Promise<VectorSpace> {
  let space = spaces.get(index);
  if (space === undefined) {
    space = client.indices.getMapping({ index }, options).then((mappings) => {
      const meta = Object.values(mappings)[0]?.mappings._meta as
        | (Partial<VectorSpace> & { normBound?: number })
        | undefined;
      if (meta?.dims === undefined || meta.similarity === undefined)
        throw new Error(`${index} is not a vector index: its mapping has no dims and similarity`);
      // An index from before bands has one bound, and its one field is the first band's.
      const normBounds = meta.normBounds ?? (meta.normBound === undefined ? undefined : [meta.normBound]);
      return { dims: meta.dims, similarity: meta.similarity, normBounds };
    });
    spaces.set(index, space);
    // A failed read (the index not there yet, a caller that gave up) is not remembered.
    space.catch(() => spaces.delete(index));
  }
  return space;
}

/**
 * Idempotent by item id: writing the same range twice leaves one document per item. `replace`
 * overwrites a document already there (a lifecycle's new vector for its item); `keep` leaves it,
 * for a release's own vectors, which never change: an overwrite leaves the old version in the
 * segment as a deleted document, and deleted documents cost an HNSW search its candidates
 * (a 1,500-item retrain index rewritten after a worker was killed mid-backfill measured recall@100
 * 0.887, and the check refused it).
 */
export async function writeVectors(
  client: Client,
  index: string,
  documents: ItemVectorDocument[],
  existing: 'replace' | 'keep' = 'replace',
): Promise<void> {
  const action = existing === 'keep' ? 'create' : 'index';
  const space = await vectorSpaceOf(client, index);
  const operations = documents.flatMap(({ vector, ...fields }) => {
    const stored = storedVector(space, vector);
    return [
      { [action]: { _index: index, _id: fields.itemId } },
      stored === undefined ? fields : { ...fields, [stored.field]: stored.values },
    ];
  });
  const response = await client.bulk({ operations });
  if (!response.errors) return;
  const failed = response.items
    .map((item) => item[action]?.error)
    .find(
      (error) =>
        error !== undefined && !(action === 'create' && error.type === 'version_conflict_engine_exception'),
    );
  if (failed !== undefined) throw new Error(`vector bulk write failed: ${JSON.stringify(failed)}`);
}

/** Ids per count request: well under Elasticsearch's default limit of terms in one query. */
const countChunk = 10_000;

/**
 * Makes the index searchable and counts the documents of `itemIds` in it. Only those: item
 * lifecycles add new items' vectors to the index a release's backfill wrote, and a backfill
 * re-run into it must not mistake those documents for its own.
 */
export async function finishLoading(
  client: Client,
  index: string,
  itemIds: readonly string[],
): Promise<number> {
  await client.indices.putSettings({
    index,
    settings: { refresh_interval: '1s', 'translog.flush_threshold_age': null },
  });
  // The flush commits the last buffered documents and empties the translog the load filled.
  await client.indices.flush({ index });
  await client.indices.refresh({ index });
  let count = 0;
  for (let start = 0; start < itemIds.length; start += countChunk) {
    const values = itemIds.slice(start, start + countChunk);
    count += (await client.count({ index, query: { ids: { values } } })).count;
  }
  return count;
}

/** How often a merge task is polled: each poll is also the activity's heartbeat. */
const mergePollMs = 2_000;

/**
 * Merges a loaded index into one segment and returns the segments left. A kNN search walks one
 * HNSW graph per segment, and a bulk load leaves dozens (23 on the 1M-item bench catalog). A
 * large merge outlasts any HTTP time-out, so it runs as a task that is polled, `onPoll` after
 * each poll. Asked again (a retried activity), Elasticsearch queues the request behind the merge
 * already running, and on a merged index it does nothing.
 */
export async function mergeSegments(client: Client, index: string, onPoll: () => void): Promise<number> {
  const { task } = await client.indices.forcemerge({
    index,
    max_num_segments: 1,
    wait_for_completion: false,
  });
  if (task === undefined) throw new Error(`force-merge of ${index} started no task`);
  for (;;) {
    const status = await client.tasks.get({ task_id: task });
    onPoll();
    const failures = (status.response as { _shards?: { failures?: unknown[] } } | undefined)?._shards
      ?.failures;
    if (status.error !== undefined || (failures?.length ?? 0) > 0)
      throw new Error(`force-merge of ${index} failed: ${JSON.stringify(status.error ?? failures)}`);
    if (status.completed) break;
    await new Promise((resolve) => setTimeout(resolve, mergePollMs));
  }
  const segments = await client.cat.segments({ index, format: 'json', h: 'segment' });
  return segments.length;
}

export async function nearestItems(
  client: Client,
  index: string,
  vector: ArrayLike<number>,
  k: number,
  numCandidates: number,
  filter?: Record<string, unknown>,
  options?: TransportRequestOptions,
): Promise<string[]> {
  const bands = searchVectors(await vectorSpaceOf(client, index), vector);
  const { responses } = await client.msearch(
    { searches: bands.flatMap((band) => [{ index }, knnSearchBody(band, k, numCandidates, filter)]) },
    options,
  );
  return mergeBands(
    bands,
    responses.map((r) => {
      if ('error' in r) throw new Error(`kNN search failed: ${r.error.reason ?? r.error.type}`);
      return hitsOf(r.hits.hits);
    }),
    k,
  );
}

export interface KnnHit {
  itemId: string;
  score: number;
}

/** The item ids and scores of a kNN search's hits, the ids read from the doc values `knnSearchBody` asks for. */
export function hitsOf(
  hits: readonly { fields?: Record<string, unknown>; _score?: number | null }[],
): KnnHit[] {
  return hits.map((h) => {
    const [itemId] = (h.fields?.itemId ?? []) as string[];
    if (itemId === undefined) throw new Error('a kNN hit came back without its itemId doc value');
    return { itemId, score: h._score ?? 0 };
  });
}

/**
 * The `k` best of every band's hits (`hits[b]` answers `bands[b]`), best first: by inner product
 * across bands, in the search's own order for an unbanded index.
 */
export function mergeBands(bands: readonly BandQuery[], hits: readonly KnnHit[][], k: number): string[] {
  const scored: KnnHit[] = bands.flatMap((band, b) => {
    const innerProductOf = band.innerProductOf;
    return innerProductOf === undefined
      ? hits[b]
      : hits[b].map(({ itemId, score }) => ({ itemId, score: innerProductOf(score) }));
  });
  if (bands.length > 1) scored.sort((x, y) => y.score - x.score);
  return scored.slice(0, k).map((hit) => hit.itemId);
}

/** Elasticsearch's ceiling on `num_candidates` (and so on `k`). */
export const maxCandidates = 10_000;

/**
 * The HNSW candidates a search for `k` items gathers, the same for serving and for the backfill's
 * recall check, so the check measures what serving gets. At 1.5 × k (150 for 100 items) one
 * merged graph of 1M synthetic items found recall@100 0.929; at 400, 0.958 for ~6 ms median.
 */
export function candidatesFor(k: number): number {
  return Math.min(maxCandidates, Math.max(Math.ceil(1.5 * k), 400));
}

/** The body of a kNN search of one band for its `k` nearest ids, one search of a multi-search. */
export function knnSearchBody(
  { field, vector }: BandQuery,
  k: number,
  numCandidates: number,
  filter?: Record<string, unknown>,
) {
  return {
    size: k,
    // Ids from doc values: the _id is a stored field, read block by block beside each item's
    // large _source (its vector as JSON), and the fetch phase would read one block per hit.
    stored_fields: '_none_',
    docvalue_fields: ['itemId'],
    knn: {
      field,
      query_vector: vector,
      k,
      num_candidates: numCandidates,
      // int8 scores order near neighbours coarsely; rescoring the top candidates with the
      // float vectors restores the exact order at a small cost.
      rescore_vector: { oversample: 3 },
      filter,
    },
  };
}

/**
 * Points the alias at `index` in one request and deletes all but the newest `keep` versions,
 * sparing those a serving variant pins.
 */
export async function publishVectorIndex(
  client: Client,
  alias: string,
  index: string,
  keep = 2,
): Promise<string[]> {
  const current = await client.indices.getAlias({ name: alias }, { ignore: [404] });
  const holders = Object.keys(current).filter((name) => name !== 'error' && name !== 'status');
  await client.indices.updateAliases({
    actions: [
      ...holders.filter((h) => h !== index).map((h) => ({ remove: { index: h, alias } })),
      { add: { index, alias } },
    ],
  });
  const versions = await client.cat.indices({
    index: `${alias}-*`,
    format: 'json',
    h: 'index,creation.date',
  });
  const byAge = versions
    .map((v) => ({ name: v.index as string, created: Number(v['creation.date']) }))
    .sort((a, b) => b.created - a.created);
  const pinned = await pinnedIndexes(client, `${alias}-*`, Date.now());
  const doomed = byAge
    .filter((v, i) => i >= keep && v.name !== index && !pinned.has(v.name))
    .map((v) => v.name);
  if (doomed.length > 0) await client.indices.delete({ index: doomed });
  return doomed;
}

export async function aliasTarget(client: Client, alias: string): Promise<string | undefined> {
  const current = await client.indices.getAlias({ name: alias }, { ignore: [404] });
  return Object.keys(current).find((name) => name !== 'error' && name !== 'status');
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Client } from '@elastic/elasticsearch';
import { searchClient } from '../../services/catalog/elasticsearch';
import { exactNeighbours } from '../../services/catalog/item-vectors';
import {
  createVectorIndex,
  finishLoading,
  nearestItems,
  VectorIndexLayoutError,
  writeVectors,
} from '../../services/catalog/vector-index';
import { releaseVectorSpace, storedVector } from '../../services/catalog/vector-space';
import { type ScratchSettings, scratchNamespace } from '../../services/config/scratch-namespace';
import { mulberry32 } from '../../services/models/random';

/** A scratch namespace and an Elasticsearch client for one test, both cleaned up after it. */
async function withScratchSearch(body: (settings: ScratchSettings, search: Client) => Promise<void>) {
  const settings = await scratchNamespace();
  const search = searchClient(settings);
  try {
    await body(settings, search);
  } finally {
    await search.close();
    await settings.cleanup();
  }
}

/** The index's own settings, flat (`index.translog.flush_threshold_age`), defaults left out. */
async function indexSettings(search: Client, index: string): Promise<Record<string, unknown>> {
  const response = await search.indices.getSettings({ index, flat_settings: true });
  return (response[index]?.settings ?? {}) as Record<string, unknown>;
}

test('a loading index flushes only when its buffer fills; finishing the load restores the timed flush and commits', () =>
  withScratchSearch(async (settings, search) => {
    const index = await createVectorIndex(search, {
      alias: settings.itemsAlias,
      version: 'v1',
      dims: 8,
      similarity: 'cosine',
    });
    const loading = await indexSettings(search, index);
    assert.equal(loading['index.refresh_interval'], '-1');
    assert.equal(loading['index.translog.flush_threshold_age'], '1h', 'no flush a minute during the load');

    const ids = Array.from({ length: 300 }, (_, i) => `item-${i}`);
    await writeVectors(
      search,
      index,
      ids.map((itemId, i) => ({
        itemId,
        categories: [],
        status: 'active',
        vector: new Array(8).fill(i + 1),
      })),
    );
    assert.equal(await finishLoading(search, index, ids), ids.length);

    const loaded = await indexSettings(search, index);
    assert.equal(loaded['index.refresh_interval'], '1s');
    assert.equal(loaded['index.translog.flush_threshold_age'], undefined, 'the default timed flush is back');
    const translog = (await search.indices.stats({ index, metric: 'translog' }))._all.primaries?.translog;
    assert.equal(translog?.uncommitted_operations, 0, 'the load is committed, not left in the translog');
  }));

test('a vector index Elasticsearch refuses is an error, not an index the first write creates with dynamic mappings', () =>
  withScratchSearch(async (settings, search) => {
    const spec = { alias: settings.itemsAlias, version: 'v1', dims: 5_000, similarity: 'cosine' as const };
    await assert.rejects(createVectorIndex(search, spec), /dims|dimension/i);
    assert.equal(await search.indices.exists({ index: `${settings.itemsAlias}-v1` }), false);
  }));

test("a release's vectors written again are kept, not replaced: no deleted document in the index, while a lifecycle's new vector replaces", () =>
  withScratchSearch(async (settings, search) => {
    const ids = Array.from({ length: 200 }, (_, i) => `item-${i}`);
    const documents = ids.map((itemId, i) => ({
      itemId,
      categories: [],
      status: 'active',
      vector: new Array<number>(8).fill((i % 7) + 1),
    }));
    const space = releaseVectorSpace({
      dims: 8,
      similarity: 'max_inner_product',
      vectors: Float32Array.from(documents.flatMap((d) => d.vector)),
    });
    const index = await createVectorIndex(search, { alias: settings.itemsAlias, version: 'v1', ...space });
    // A killed worker's batch, then the retried batch over the same range.
    await writeVectors(search, index, documents.slice(0, 120), 'keep');
    await writeVectors(search, index, documents, 'keep');
    assert.equal(await finishLoading(search, index, ids), ids.length);
    const stored = (await search.indices.stats({ index, metric: 'docs' }))._all.primaries?.docs;
    assert.equal(stored?.count, ids.length);
    assert.equal(stored?.deleted, 0, 'no old version left in a segment');

    await writeVectors(search, index, [{ ...documents[0], vector: new Array(8).fill(9) }]);
    await search.indices.refresh({ index });
    const replaced = await search.get<Record<string, number[]>>({ index, id: 'item-0' });
    const expected = storedVector(space, new Array(8).fill(9)) ?? assert.fail('a non-zero vector is stored');
    assert.deepEqual(replaced._source?.[expected.field], expected.values);
  }));

test('preparing an index again finds it and goes on; an index of the same name in another layout is refused, named', () =>
  withScratchSearch(async (settings, search) => {
    const spec = {
      alias: settings.itemsAlias,
      version: 'v1',
      dims: 8,
      similarity: 'max_inner_product' as const,
    };
    const index = await createVectorIndex(search, { ...spec, normBounds: [2.5] });
    assert.equal(
      await createVectorIndex(search, { ...spec, normBounds: [2.5] }),
      index,
      'a retried preparation',
    );
    await assert.rejects(
      createVectorIndex(search, { ...spec, normBounds: [3] }),
      (error: Error) =>
        error instanceof VectorIndexLayoutError &&
        error.message.includes(index) &&
        error.message.includes('norm bounds 2.5') &&
        error.message.includes('delete it'),
    );
    await assert.rejects(
      createVectorIndex(search, { ...spec, dims: 16, normBounds: [2.5] }),
      VectorIndexLayoutError,
    );
  }));

test('norms over three orders of magnitude are indexed in bands, and a search merges them into the exact inner-product order', () =>
  withScratchSearch(async (settings, search) => {
    const dims = 4;
    const random = mulberry32(11);
    // A long tail of small norms under a few large ones, as iALS factors of a long-tailed log.
    const count = 600;
    const vectors = Float32Array.from({ length: count * dims }, (_, i) => {
      const scale = 10 ** -(Math.floor(i / dims) % 4);
      return (random() - 0.5) * scale;
    });
    const ids = Array.from({ length: count }, (_, i) => `item-${i}`);
    const items = { ids, dims, similarity: 'max_inner_product' as const, vectors };
    const space = releaseVectorSpace(items);
    assert.ok((space.normBounds?.length ?? 0) >= 3, `bands: ${space.normBounds}`);
    const index = await createVectorIndex(search, { alias: settings.itemsAlias, version: 'v1', ...space });
    const row = (r: number) => vectors.subarray(r * dims, (r + 1) * dims);
    await writeVectors(
      search,
      index,
      ids.map((itemId, r) => ({ itemId, categories: [], status: 'active', vector: Array.from(row(r)) })),
    );
    assert.equal(await finishLoading(search, index, ids), count);
    for (const q of [1, 2, 3, 7, 100]) {
      const exact = Array.from(exactNeighbours(items, row(q), 20), (r) => ids[r]);
      assert.deepEqual(await nearestItems(search, index, row(q), 20, 200), exact, `query ${q}`);
    }
  }));

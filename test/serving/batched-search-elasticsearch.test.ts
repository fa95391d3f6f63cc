import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '@elastic/elasticsearch';
import { searchClient } from '../../services/catalog/elasticsearch';
import {
  createVectorIndex,
  finishLoading,
  nearestItems,
  writeVectors,
} from '../../services/catalog/vector-index';
import { releaseVectorSpace } from '../../services/catalog/vector-space';
import { type ScratchSettings, scratchNamespace } from '../../services/config/scratch-namespace';
import type { HotState } from '../../services/serving/hot-state';
import { elasticsearchSearch } from '../../services/serving/item-search';
import { fixtureState } from './hot-state-fixture';

let settings: ScratchSettings;
let client: Client;
let state: HotState;

before(async () => {
  settings = await scratchNamespace('msearch');
  client = searchClient(settings);
  const fixture = fixtureState();
  const { ids, dims, vectors } = fixture.items;
  const index = await createVectorIndex(client, {
    alias: settings.itemsAlias,
    version: 'retrieval-v1',
    ...releaseVectorSpace({ dims, similarity: 'max_inner_product', vectors }),
  });
  await writeVectors(
    client,
    index,
    ids.map((itemId, row) => ({
      itemId,
      categories: [],
      // c7 is retired in the index: the query's availability filter must drop it.
      status: itemId === 'c7' ? 'retired' : 'active',
      vector: Array.from(vectors.subarray(row * dims, (row + 1) * dims)),
    })),
  );
  assert.equal(await finishLoading(client, index, ids), ids.length);
  state = { ...fixture, vectorIndex: index };
});

after(async () => {
  await client?.close();
  await settings?.cleanup();
});

test('concurrent kNN searches answered through one multi-search each get what a single search gets', async () => {
  const search = elasticsearchSearch(client);
  const queries = [
    { vector: Float32Array.of(1, 0, 0), k: 3, excluded: new Set(['a0']) },
    { vector: Float32Array.of(0, 1, 0), k: 2, excluded: new Set<string>() },
    { vector: Float32Array.of(0, 0, 1), k: 24, excluded: new Set(['c0', 'c1']) },
    { vector: Float32Array.of(0.5, 0.5, 0), k: 4, excluded: new Set(['a0', 'b0']) },
  ];
  const signal = new AbortController().signal;
  const batched = await Promise.all(queries.map((q) => search.nearest(state, q, signal)));
  const filterOf = (excluded: Set<string>) => ({
    bool: { filter: { term: { status: 'active' } }, must_not: { ids: { values: [...excluded] } } },
  });
  for (const [n, q] of queries.entries()) {
    const single = await nearestItems(
      client,
      state.vectorIndex,
      Array.from(q.vector),
      q.k,
      100,
      filterOf(q.excluded),
    );
    assert.deepEqual(batched[n], single, `query ${n}`);
  }
  assert.deepEqual(batched[0], ['a1', 'a2', 'a3']);
  assert.deepEqual(batched[1], ['b0', 'b1']);
  assert.ok(!batched[2].includes('c7'), 'the retired item is filtered inside the query');
  assert.ok(!batched[2].some((id) => id === 'c0' || id === 'c1'), 'exclusions hold');
  assert.equal(batched[2].length, 21);
});

test('a search of an index that does not exist fails alone, not the batch it went with', async () => {
  const search = elasticsearchSearch(client);
  const signal = new AbortController().signal;
  const query = { vector: Float32Array.of(1, 0, 0), k: 1, excluded: new Set<string>() };
  const [missing, found] = await Promise.allSettled([
    search.nearest({ ...state, vectorIndex: `${state.vectorIndex}-missing` }, query, signal),
    search.nearest(state, query, signal),
  ]);
  assert.equal(missing.status, 'rejected');
  // Its vector space is read first, and that read is what fails.
  assert.match(String((missing as PromiseRejectedResult).reason), /no such index/);
  assert.deepEqual(found, { status: 'fulfilled', value: ['a0'] });
});

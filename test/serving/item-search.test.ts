import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { test } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import type { HotState } from '../../services/serving/hot-state';
import {
  availableItems,
  elasticsearchSearch,
  exactSearch,
  FallbackSearch,
  fallbackScanCells,
  type ItemSearch,
  knnSearch,
} from '../../services/serving/item-search';
import { fixtureState } from './hot-state-fixture';

const failing: ItemSearch = {
  async nearest() {
    throw new Error('connect ECONNREFUSED');
  },
};

/** Counts the scans the fallback is asked for. */
function countingExact(): { search: ItemSearch; scans: () => number } {
  let scans = 0;
  return {
    search: {
      nearest(state, query, signal) {
        scans++;
        return exactSearch.nearest(state, query, signal);
      },
    },
    scans: () => scans,
  };
}

const query = { vector: Float32Array.of(1, 0, 0), k: 2, excluded: new Set(['a0']) };

test('a release too large to scan in process gets no kNN candidates when Elasticsearch fails, and the reply says why', async () => {
  const small = fixtureState();
  // Only the size is read before the scan would start: the rows past the fixture's are never touched.
  const large: HotState = {
    ...small,
    items: { ...small.items, ids: new Array<string>(Math.floor(fallbackScanCells / small.items.dims) + 1) },
  };
  const { search: fallback, scans } = countingExact();
  const search = new FallbackSearch(() => failing, fallback, 60_000);
  const failed = await search.nearest(large, query, 20);
  assert.deepEqual(failed.ids, []);
  assert.match(
    failed.degraded ?? '',
    /^search failed: connect ECONNREFUSED; \d+ items are too many to scan in process: no kNN candidates$/,
  );
  const cooling = await search.nearest(large, query, 20);
  assert.deepEqual(cooling.ids, []);
  assert.match(
    cooling.degraded ?? '',
    /^search cooling down after a failure; \d+ items are too many to scan/,
  );
  assert.equal(scans(), 0, 'no request scanned the large release');

  const answered = await search.nearest(small, query, 20);
  assert.deepEqual(answered.ids, ['a1', 'a2'], 'a small release is still scanned exactly');
  assert.equal(answered.degraded, 'search cooling down after a failure');
  assert.equal(scans(), 1);
});

test('every kNN search has the same availability filter, and asks for as many more items as the request excludes', () => {
  const cosine = { dims: 3, similarity: 'cosine' } as const;
  const unavailable = new Set(['c7', 'b3']);
  const excluded = new Set(['a0', 'a1', 'c7']);
  const {
    searches: [search],
  } = knnSearch('idx', { vector: Float32Array.of(1, 0, 0), k: 100, excluded }, unavailable, cosine);
  assert.equal(search.index, 'idx');
  assert.deepEqual(search.knn.filter, availableItems, 'no per-request ids: the filter stays cacheable');
  assert.equal(search.knn.k, 102, 'a0 and a1 may come back and be dropped; c7 is filtered by status');
  assert.equal(search.size, 102);
  assert.ok(search.knn.num_candidates >= search.knn.k);
  const heavy = new Set(Array.from({ length: 20_000 }, (_, i) => `h${i}`));
  const {
    searches: [capped],
  } = knnSearch('idx', { vector: Float32Array.of(1, 0, 0), k: 100, excluded: heavy }, unavailable, cosine);
  assert.equal(capped.knn.k, 10_000, "Elasticsearch's ceiling");
  assert.equal(capped.knn.num_candidates, 10_000);
});

test('a kNN search its caller gave up on is cancelled on the wire, not left to the client time-out', async () => {
  // An Elasticsearch that knows the index and accepts the search, but never answers it.
  const open = new Set<Socket>();
  const closed: Socket[] = [];
  let searches = 0;
  const server = createServer((request, response) => {
    if (request.url?.includes('_mapping')) {
      response.setHeader('content-type', 'application/json');
      response.setHeader('x-elastic-product', 'Elasticsearch');
      response.end(JSON.stringify({ idx: { mappings: { _meta: { dims: 3, similarity: 'cosine' } } } }));
    } else searches++;
  });
  server.on('connection', (socket) => {
    open.add(socket);
    socket.on('close', () => closed.push(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new Client({
    node: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requestTimeout: 60_000,
  });
  try {
    const search = elasticsearchSearch(client);
    const state = { ...fixtureState(), vectorIndex: 'idx' };
    const caller = new AbortController();
    const answer = search.nearest(state, query, caller.signal).then(
      () => 'answered',
      (error: Error) => error.message,
    );
    const deadline = Date.now() + 5_000;
    while (searches === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(searches, 1, 'the search reached the server');
    caller.abort();
    assert.equal(await answer, 'search aborted');
    while (closed.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(closed.length, 1, 'the abandoned request was closed, long before the 60 s time-out');
  } finally {
    await client.close();
    for (const socket of open) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('late answers degrade only their own requests until they have kept coming for the late span, which cools the search down', async () => {
  let delayMs = 0;
  const slow: ItemSearch = {
    async nearest(state, q, signal) {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return exactSearch.nearest(state, q, signal);
    },
  };
  const state = fixtureState();
  const search = new FallbackSearch(() => slow, exactSearch, 60_000, 200);
  const late = 'search over its 20 ms budget';
  delayMs = 100;
  const burst = await Promise.all(Array.from({ length: 5 }, () => search.nearest(state, query, 20)));
  assert.deepEqual(
    burst.map((r) => r.degraded),
    Array(5).fill(late),
    'one slow batch of five: each late, no cool-down',
  );
  delayMs = 0;
  assert.equal((await search.nearest(state, query, 20)).degraded, undefined, 'the search is still tried');
  delayMs = 100;
  const reasons: (string | undefined)[] = [];
  const began = Date.now();
  while (Date.now() - began < 400) reasons.push((await search.nearest(state, query, 20)).degraded);
  const cooling = reasons.indexOf('search cooling down after a failure');
  assert.ok(cooling > 0, `late answers for 400 ms never cooled the search down: ${reasons.join(', ')}`);
  assert.ok(reasons.slice(0, cooling).every((r) => r === late));
  assert.ok(reasons.slice(cooling).every((r) => r === 'search cooling down after a failure'));
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HotState } from '../../services/serving/hot-state';
import {
  exactSearch,
  FallbackSearch,
  fallbackScanCells,
  type ItemSearch,
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

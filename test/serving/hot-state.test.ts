import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Producer } from 'kafkajs';
import { buildHotState } from '../../services/serving/hot-state';
import { ImpressionLog } from '../../services/serving/impression-log';
import {
  chooseSearch,
  exactSearch,
  FallbackSearch,
  type ItemSearch,
} from '../../services/serving/item-search';
import { LiveCatalog } from '../../services/serving/live-catalog';
import { fixtureState } from './hot-state-fixture';

test('a block or retirement in the live catalog applies at once; a re-creation restores the item', () => {
  const catalog = new LiveCatalog();
  fixtureState(catalog);
  assert.ok(catalog.isAvailable('a1'));
  catalog.apply({
    eventId: 'b',
    type: 'item_blocked',
    itemId: 'a1',
    occurredAt: Date.now(),
    reason: 'legal',
  });
  assert.ok(!catalog.isAvailable('a1'));
  assert.ok(catalog.unavailable.has('a1'));
  assert.equal(catalog.item('a1')?.status, 'blocked');
  catalog.apply({ eventId: 'r', type: 'item_retired', itemId: 'zz', occurredAt: Date.now() });
  assert.ok(!catalog.isAvailable('zz'), 'a retirement before the creation is kept');
  assert.ok(
    catalog.isAvailable('never-announced'),
    'an item the release knows but the feed has not announced',
  );
});

test('published neighbour and cohort tables are used as they are; without them they are computed', () => {
  const computed = fixtureState();
  const release = {
    family: 'retrieval',
    version: 'v2',
    dims: 1,
    itemIds: ['p', 'q', 'r'],
    itemVectors: Float32Array.of(1, 2, 3),
    userIds: ['u'],
    userVectors: Float32Array.of(1),
    seen: [[0]],
    neighbours: [
      [[2], [0.5]],
      [[0], [0.4]],
      [[1], [0.3]],
    ] as [number[], number[]][],
    cohortPopularity: { 'x|F|y': [2, 1, 0] },
  };
  const state = buildHotState(release, new LiveCatalog(), 'idx');
  assert.deepEqual(Array.from(state.neighbours.of(0).items), [2]);
  assert.deepEqual(Array.from(state.popularity.byCohort.get('x|F|y') ?? []), [2, 1, 0]);
  assert.deepEqual(
    Array.from(computed.neighbours.of(0).items, (i) => computed.items.ids[i]).sort(),
    ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'],
    'from co-occurrence in the histories',
  );
  assert.throws(
    () => buildHotState({ ...release, itemVectors: Float32Array.of(1) }, new LiveCatalog(), 'idx'),
    /do not match/,
  );
});

test('auto search: in process for a small release, Elasticsearch above the size limit', () => {
  const state = fixtureState();
  const remote: ItemSearch = { nearest: async () => [] };
  assert.equal(chooseSearch('auto', 72, remote)(state), exactSearch, '24 items × 3 dims');
  assert.equal(chooseSearch('auto', 71, remote)(state), remote);
  assert.equal(chooseSearch('elasticsearch', 1e9, remote)(state), remote);
  assert.equal(chooseSearch('in-process', 0, remote)(state), exactSearch);
});

test('a failing or slow primary search falls back to the exact search, marks it, and recovers after the cool-down', async () => {
  const state = fixtureState();
  let mode: 'fail' | 'slow' | 'ok' = 'fail';
  const primary: ItemSearch = {
    async nearest(_state, _query, signal) {
      if (mode === 'fail') throw new Error('connect ECONNREFUSED');
      if (mode === 'slow') await new Promise((resolve) => signal.addEventListener('abort', resolve));
      return ['b5'];
    },
  };
  const search = new FallbackSearch(() => primary, exactSearch, 50);
  const query = { vector: Float32Array.of(1, 0, 0), k: 2, excluded: new Set(['a0']) };
  const failed = await search.nearest(state, query, 20);
  assert.deepEqual(failed.ids, ['a1', 'a2']);
  assert.match(failed.degraded ?? '', /ECONNREFUSED/);
  mode = 'ok';
  assert.match((await search.nearest(state, query, 20)).degraded ?? '', /cooling down/);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.deepEqual(await search.nearest(state, query, 20), { ids: ['b5'] });
  mode = 'slow';
  const slow = await search.nearest(state, query, 20);
  assert.match(slow.degraded ?? '', /over its 20 ms budget/);
});

test('impressions are sent in batches off the request path, a failed send is retried, and close sends the rest', async () => {
  const sent: number[] = [];
  let failNext = true;
  const producer: Pick<Producer, 'send'> = {
    async send(record) {
      if (failNext) {
        failNext = false;
        throw new Error('broker down');
      }
      sent.push(record.messages.length);
      return [];
    },
  };
  const log = new ImpressionLog(producer, 'topic', 3, 60_000, () => undefined);
  const impression = (n: number) => ({
    slateId: `s${n}`,
    userId: 'u',
    surface: 'homepage' as const,
    servedAt: Date.now(),
    variant: 'control',
    modelVersions: { retrieval: 'v1' },
    items: [{ itemId: 'i', position: 0, score: 1, propensity: 1 }],
  });
  for (let n = 0; n < 4; n++) log.record(impression(n));
  await log.flush();
  assert.equal(log.failures, 1);
  assert.equal(log.pending, 4, 'the failed batch is kept');
  log.record(impression(4));
  await log.close();
  assert.equal(
    sent.reduce((a, b) => a + b, 0),
    5,
  );
  assert.equal(log.sent, 5);
});

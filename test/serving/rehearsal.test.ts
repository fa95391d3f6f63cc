import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recommendRequestSchema } from '../../schemas/recommend';
import type { Candidate, RequestContext } from '../../services/serving/candidates';
import { exactSearch, FallbackSearch, type ItemSearch } from '../../services/serving/item-search';
import type { ExplorationSlots } from '../../services/serving/post/budgeted-exploration';
import type { OnnxRankingStage } from '../../services/serving/rank/onnx-ranker';
import { rehearsalRequests, rehearse } from '../../services/serving/rehearsal';
import { parseServingConfig } from '../../services/serving/serving-config';
import { variantsOf } from '../../services/serving/variants';
import { fixtureState } from './hot-state-fixture';

test('rehearsal requests are valid requests that reach every surface, each variant, known and new users', () => {
  const state = fixtureState();
  const requests = rehearsalRequests(state, ['control', 'challenger']);
  for (const request of requests) assert.deepEqual(recommendRequestSchema.parse(request), request);
  assert.deepEqual(new Set(requests.map((r) => r.surface)), new Set(['homepage', 'item_detail', 'email']));
  assert.deepEqual(new Set(requests.map((r) => r.variant)), new Set(['control', 'challenger']));
  const known = requests.filter((r) => state.users.index.has(r.userId));
  assert.ok(known.length > 0 && known.length < requests.length, 'known users and new ones');
  assert.ok(new Set(known.map((r) => r.userId)).size > 1, 'known users spread over the release');
  assert.ok(
    requests.every((r) => r.surface !== 'item_detail' || state.items.index.has(r.itemId ?? '')),
    'item pages of released items',
  );
});

test('a rehearsal runs the ranker and spends no exploration budget', async () => {
  let ranked = 0;
  const ranker = {
    knows: (context: RequestContext) => context.user !== undefined,
    async rank(_context: RequestContext, candidates: Candidate[]) {
      ranked++;
      return candidates;
    },
    async release() {},
  } as unknown as OnnxRankingStage;
  const state = { ...fixtureState(), ranker };
  const config = parseServingConfig({ deadlineMs: 10_000 });
  // A budget with impressions to give for c7: a live request on any surface could spend one.
  let taken = 0;
  const budget: ExplorationSlots = {
    budgeted: (itemId) => itemId === 'c7',
    exploringItems: () => ['c7'],
    held: () => 10,
    takeImpression: () => {
      taken++;
      return true;
    },
    prefetch: async () => 10,
  };
  // The responder passes its whole pipeline deps, budget and all.
  const deps = {
    config,
    variants: variantsOf(config),
    search: new FallbackSearch(() => exactSearch, exactSearch, 0),
    budget,
  };
  await rehearse(state, deps, rehearsalRequests(state, ['control']));
  assert.ok(ranked > 0, 'the ranker ran');
  assert.equal(taken, 0, 'no budget impression taken');
});

test('a slow search ends the rehearsal at its budget, and a failing one leaves live requests searching', async () => {
  const state = fixtureState();
  const config = parseServingConfig({ deadlineMs: 10_000, searchBudgetMs: 1_000 });
  let failing = false;
  let searches = 0;
  const elasticsearch: ItemSearch = {
    async nearest(...args) {
      searches++;
      await new Promise((resolve) => setTimeout(resolve, 40));
      if (failing) throw new Error('cluster unavailable');
      return exactSearch.nearest(...args);
    },
  };
  const search = new FallbackSearch(() => elasticsearch, exactSearch, 60_000);
  const deps = { config, variants: variantsOf(config), search };
  const runs = await rehearse(state, deps, rehearsalRequests(state, ['control']), 200);
  assert.ok(runs > 0 && runs < 20, `${runs} runs in a 200 ms budget of 40 ms searches`);
  assert.ok(searches >= runs, 'every run searched');
  failing = true;
  await rehearse(state, deps, rehearsalRequests(state, ['control']), 200);
  failing = false;
  const live = await search.nearest(
    state,
    { vector: state.items.vectors.subarray(0, state.items.dims), k: 3, excluded: new Set() },
    1_000,
  );
  assert.equal(
    live.degraded,
    undefined,
    'the failures during the rehearsal did not cool down the live search',
  );
  assert.equal(live.ids.length, 3);
});

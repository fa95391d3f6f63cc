import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recommendRequestSchema } from '../../schemas/recommend';
import type { Candidate, RequestContext } from '../../services/serving/candidates';
import type { HotState } from '../../services/serving/hot-state';
import { exactSearch, FallbackSearch } from '../../services/serving/item-search';
import { type PipelineDeps, rankerReserveMs, runPipeline } from '../../services/serving/pipeline';
import type { OnnxRankingStage } from '../../services/serving/rank/onnx-ranker';
import { parseServingConfig } from '../../services/serving/serving-config';
import { variantsOf } from '../../services/serving/variants';
import { fixtureState } from './hot-state-fixture';

/** A ranker that reverses the blend's order, so a slate shows whether it ran; it counts its calls. */
function reversingRanker(): { stage: OnnxRankingStage; calls: () => number; given: number[][] } {
  let calls = 0;
  const given: number[][] = [];
  const stage = {
    knows: (context: RequestContext) => context.user !== undefined,
    async rank(_context: RequestContext, candidates: Candidate[]) {
      calls++;
      given.push(candidates.map((c) => c.item));
      return candidates.map((c, i) => Object.assign(c, { score: i })).sort((a, b) => b.score - a.score);
    },
    async release() {},
  };
  // The pipeline only calls these three; the real stage needs an ONNX graph and feature tables.
  return { stage: stage as unknown as OnnxRankingStage, calls: () => calls, given };
}

function depsOf(deadlineMs: number, pipeline: Record<string, unknown> = {}): PipelineDeps {
  const config = parseServingConfig({ pipeline: { explorationRate: 0, ...pipeline }, deadlineMs });
  return {
    config,
    variants: variantsOf(config),
    search: new FallbackSearch(() => exactSearch, exactSearch, 0),
  };
}

const request = recommendRequestSchema.parse({ userId: 'ux', k: 6 });

async function slate(state: HotState, deps: PipelineDeps, startedAt?: number, asked = request) {
  const result = await runPipeline(asked, state, deps, startedAt);
  assert.ok(result.ok);
  return result.slate;
}

test('with time to spare, the ranker and MMR run and the reply is not degraded', async () => {
  const { stage, calls } = reversingRanker();
  const state = { ...fixtureState(), ranker: stage };
  const served = await slate(state, depsOf(10_000));
  assert.equal(calls(), 1);
  assert.equal(served.degraded, false, served.degradedReasons.join());
  assert.deepEqual(served.degradedReasons, []);
  assert.equal(served.items.length, 6);
});

test('with less time left than the ranker needs, the blend orders the slate and the reply says why', async () => {
  const { stage, calls } = reversingRanker();
  const state = { ...fixtureState(), ranker: stage };
  const deadlineMs = 50;
  // MMR off: a stalled machine may leave too little time for it as well, which is not this test's point.
  const served = await slate(
    state,
    depsOf(deadlineMs, { mmrLambda: 1 }),
    performance.now() - (deadlineMs - rankerReserveMs / 2),
  );
  assert.equal(calls(), 0, 'the ranker must not run');
  assert.equal(served.degraded, true);
  assert.match(served.degradedReasons[0], /^ranker skipped: \d+\.\d ms of the 50 ms deadline left$/);
  const blended = await slate(state, depsOf(10_000, { ranker: false, mmrLambda: 1 }));
  assert.deepEqual(
    served.items.map((i) => i.itemId),
    blended.items.map((i) => i.itemId),
    'the generators’ order, as a variant without the ranker gets it',
  );
});

test('a request already past its deadline skips the ranker and MMR, still answers k items, and says it is late', async () => {
  const { stage, calls } = reversingRanker();
  const state = { ...fixtureState(), ranker: stage };
  const deadlineMs = 50;
  const served = await slate(
    state,
    depsOf(deadlineMs, { mmrLambda: 0.3 }),
    performance.now() - deadlineMs - 1,
  );
  assert.equal(calls(), 0);
  assert.equal(served.degraded, true);
  const reasons = served.degradedReasons.join('\n');
  assert.match(reasons, /ranker skipped: 0\.0 ms of the 50 ms deadline left/);
  assert.match(reasons, /MMR skipped: 0\.0 ms of the 50 ms deadline left/);
  assert.match(reasons, /answered in \d+(\.\d+)? ms, over the 50 ms deadline/);
  assert.equal(served.items.length, 6);
  const plain = await slate(state, depsOf(10_000, { ranker: false, mmrLambda: 1 }));
  assert.deepEqual(
    served.items.map((i) => i.itemId),
    plain.items.map((i) => i.itemId),
    'the blend’s order without diversification',
  );
  const diversified = await slate(state, depsOf(10_000, { ranker: false, mmrLambda: 0.3 }));
  assert.notDeepEqual(
    diversified.items.map((i) => i.itemId),
    plain.items.map((i) => i.itemId),
    'the fixture is one where MMR changes the slate, so skipping it is visible',
  );
});

test('MMR turned off is not reported as skipped', async () => {
  const served = await slate(fixtureState(), depsOf(50, { mmrLambda: 1 }), performance.now() - 51);
  assert.ok(!served.degradedReasons.some((r) => r.startsWith('MMR')), served.degradedReasons.join());
});

test('a slate names the ranker’s version only when the ranker ordered it', async () => {
  const { stage } = reversingRanker();
  const state = { ...fixtureState(), ranker: stage, modelVersions: { retrieval: 'v1', ranker: 'v1' } };
  const ranked = await slate(state, depsOf(10_000));
  assert.deepEqual(ranked.modelVersions, { retrieval: 'v1', ranker: 'v1' }, 'the ranker ran');
  const late = await slate(state, depsOf(50, { mmrLambda: 1 }), performance.now() - 51);
  assert.match(late.degradedReasons[0], /^ranker skipped/);
  assert.deepEqual(late.modelVersions, { retrieval: 'v1' }, 'the deadline skipped the ranker');
  const off = await slate(state, depsOf(10_000, { ranker: false }));
  assert.deepEqual(off.modelVersions, { retrieval: 'v1' }, 'the variant turns the ranker off');
  const stranger = await slate(
    state,
    depsOf(10_000),
    undefined,
    recommendRequestSchema.parse({ userId: 'unknown-to-the-release', k: 6 }),
  );
  assert.deepEqual(stranger.modelVersions, { retrieval: 'v1' }, 'the ranker knows no such user');
});

test('the ranker scores only the blend’s best rankerCandidates; the rest follow in the blend’s order', async () => {
  const { stage, given } = reversingRanker();
  const state = { ...fixtureState(), ranker: stage };
  const pipeline = { mmrLambda: 1, categoryCap: 100, freshSlot: 0, businessRules: [] };
  const request22 = recommendRequestSchema.parse({ userId: 'ux', k: 22 });
  const blended = await slate(state, depsOf(10_000, { ...pipeline, ranker: false }), undefined, request22);
  const blendOrder = blended.items.map((i) => i.itemId);
  assert.ok(blendOrder.length > 10, `the fixture proposes ${blendOrder.length} items`);
  const served = await slate(
    state,
    depsOf(10_000, { ...pipeline, rankerCandidates: 10 }),
    undefined,
    request22,
  );
  assert.deepEqual(
    given[0].map((item) => state.items.ids[item]),
    blendOrder.slice(0, 10),
    'the ranker is given the blend’s best 10, in its order',
  );
  const order = served.items.map((i) => i.itemId);
  assert.deepEqual(order.slice(0, 10), blendOrder.slice(0, 10).reverse(), 'the head in the ranker’s order');
  assert.deepEqual(order.slice(10), blendOrder.slice(10), 'the tail in the blend’s order');
  const scores = served.items.map((i) => i.score);
  assert.ok(
    scores.every((score, i) => i === 0 || score <= scores[i - 1]),
    `scores do not descend: ${scores.join()}`,
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../../services/models/random';
import { blendScores } from '../../services/serving/blend-scores';
import { type Candidate, mergeProposals, rankScores } from '../../services/serving/candidates';
import { available } from '../../services/serving/filters/availability';
import { notExcluded } from '../../services/serving/filters/excluded';
import { notSeen } from '../../services/serving/filters/seen';
import { applyBusinessRules } from '../../services/serving/post/business-rules';
import { capCategories } from '../../services/serving/post/category-cap';
import { explore } from '../../services/serving/post/exploration';
import { reserveFreshSlot } from '../../services/serving/post/freshness-slot';
import { diversify } from '../../services/serving/post/mmr';
import { contextOf, fixtureState } from './hot-state-fixture';

const state = fixtureState();
const all = (): Candidate[] =>
  mergeProposals([{ generator: 'ann', items: state.items.ids.map((_, i) => i), scores: rankScores(24) }]);
const ids = (list: Candidate[]) => list.map((c) => state.items.ids[c.item]);

test('filters drop seen and session items, unavailable items, and the request’s exclusions', () => {
  const context = contextOf(state, { userId: 'ux', recentItems: ['b1'], exclude: ['c2'] });
  assert.deepEqual(
    ids(all().filter(notSeen(context))).filter((id) => ['a0', 'a1', 'b1'].includes(id)),
    [],
  );
  assert.ok(!ids(all().filter(notExcluded(context))).includes('c2'));
  const catalog = fixtureState().catalog;
  const blocked = fixtureState(catalog);
  catalog.apply({ eventId: 'x', type: 'item_blocked', itemId: 'a3', occurredAt: Date.now(), reason: 'test' });
  catalog.apply({ eventId: 'y', type: 'item_retired', itemId: 'b3', occurredAt: Date.now() });
  const kept = all().filter(available(contextOf(blocked, { userId: 'ux' })));
  assert.ok(!ids(kept).includes('a3') && !ids(kept).includes('b3'));
  assert.equal(kept.length, 22);
});

test('the blend adds each proposing generator’s weighted score', () => {
  const context = contextOf(
    state,
    { userId: 'ux' },
    { weights: { ann: 1, session: 2, popularity: 0, fresh: 0, similar: 0 } },
  );
  const merged = mergeProposals([
    { generator: 'ann', items: [0, 1], scores: [1, 0.5] },
    { generator: 'session', items: [1, 2], scores: [1, 0.9] },
  ]);
  const ranked = blendScores(context, merged);
  assert.deepEqual(
    ranked.map((c) => [state.items.ids[c.item], c.score]),
    [
      ['a1', 2.5],
      ['a2', 1.8],
      ['a0', 1],
    ],
  );
  assert.deepEqual([...ranked[0].sources.keys()], ['ann', 'session']);
});

test('MMR spreads the head of the list across clusters', () => {
  const context = contextOf(state, { userId: 'ux', k: 3 }, { mmrLambda: 0.3 });
  const ranked = blendScores(context, all());
  assert.deepEqual(ids(ranked).slice(0, 3), ['a0', 'a1', 'a2']);
  const diverse = ids(diversify(context, ranked));
  assert.equal(diverse[0], 'a0', 'the most relevant item stays first');
  assert.ok(
    diverse.slice(0, 3).some((id) => id[0] === 'b'),
    `${diverse.slice(0, 3)}`,
  );
  assert.deepEqual([...diverse].sort(), [...ids(ranked)].sort());
  assert.deepEqual(ids(diversify(contextOf(state, { userId: 'ux' }, { mmrLambda: 1 }), ranked)), ids(ranked));
});

test('the category cap holds in the window, and the window is never left short', () => {
  const context = contextOf(state, { userId: 'ux' }, { categoryCap: 2, categoryCapWindow: 6 });
  const capped = ids(capCategories(context, blendScores(context, all())));
  const window = capped.slice(0, 6);
  for (const c of ['a', 'b', 'c']) assert.equal(window.filter((id) => id[0] === c).length, 2, `${window}`);
  assert.equal(capped.length, 24);
  const tight = contextOf(state, { userId: 'ux' }, { categoryCap: 1, categoryCapWindow: 6 });
  assert.equal(capCategories(tight, blendScores(tight, all())).length, 24);
});

test('the freshness slot brings a fresh item into the slate when it has none', () => {
  const context = contextOf(state, { userId: 'ux', k: 5 }, { freshSlot: 2, freshDays: 7 });
  const ranked = blendScores(context, all());
  const out = ids(reserveFreshSlot(context, ranked));
  assert.equal(out[1], 'b7', 'the best fresh item that keeps the cap (a7 would be a fourth A)');
  assert.equal(out.length, 24);
  const off = contextOf(state, { userId: 'ux', k: 5 }, { freshSlot: 0 });
  assert.deepEqual(ids(reserveFreshSlot(off, ranked)), ids(ranked));
});

test('exploration: about ε of the slots explore, and every item carries its propensity', () => {
  const context = contextOf(state, { userId: 'ux', k: 10 }, { explorationRate: 0.2, categoryCap: 10 });
  const random = mulberry32(3);
  let explored = 0;
  const slates = 2_000;
  for (let s = 0; s < slates; s++) {
    const slate = explore(context, blendScores(context, all()), random);
    assert.equal(slate.length, 10);
    for (const c of slate) {
      if (c.exploration) {
        explored++;
        // ε over the eligible pool, which shrinks as slots draw from it.
        assert.ok(c.propensity >= 0.2 / 14 && c.propensity <= 0.2 / 5, `${c.propensity}`);
      } else assert.equal(c.propensity, 0.8);
    }
  }
  const rate = explored / (slates * 10);
  assert.ok(Math.abs(rate - 0.2) < 0.02, `exploration rate ${rate}`);
  const none = contextOf(state, { userId: 'ux' }, { explorationRate: 0 });
  assert.ok(explore(none, all(), random).every((c) => !c.exploration && c.propensity === 1));
});

test('exploration keeps the category cap', () => {
  const context = contextOf(state, { userId: 'ux', k: 10 }, { explorationRate: 0.5, categoryCap: 4 });
  const random = mulberry32(9);
  for (let s = 0; s < 200; s++) {
    const slate = ids(explore(context, capCategories(context, blendScores(context, all())), random));
    for (const c of ['a', 'b', 'c']) assert.ok(slate.filter((id) => id[0] === c).length <= 4, `${slate}`);
  }
});

test('business rules: adult items dropped, low-quality items demoted', () => {
  const catalog = fixtureState().catalog;
  const flagged = fixtureState(catalog);
  catalog.apply({
    eventId: 'f1',
    type: 'item_updated',
    itemId: 'a0',
    occurredAt: Date.now(),
    qualityFlags: ['adult'],
  });
  catalog.apply({
    eventId: 'f2',
    type: 'item_updated',
    itemId: 'a1',
    occurredAt: Date.now(),
    qualityFlags: ['low_quality'],
  });
  const context = contextOf(
    flagged,
    { userId: 'uy' },
    { businessRules: ['drop_adult', 'demote_low_quality'] },
  );
  const out = ids(applyBusinessRules(context, blendScores(context, all())));
  assert.ok(!out.includes('a0'));
  assert.equal(out.at(-1), 'a1');
  assert.equal(out.length, 23);
});

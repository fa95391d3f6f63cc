import assert from 'node:assert/strict';
import { test } from 'node:test';
import { annCandidates, excludedIds, queryVector } from '../../services/serving/generators/ann';
import { cohortPopularity } from '../../services/serving/generators/cohort-popularity';
import { freshItems } from '../../services/serving/generators/fresh-items';
import { sessionNeighbours } from '../../services/serving/generators/session-neighbours';
import { similarItems } from '../../services/serving/generators/similar-items';
import { exactSearch, FallbackSearch } from '../../services/serving/item-search';
import { contextOf, fixtureState, idsOf } from './hot-state-fixture';

test('session neighbours pull toward the recent items, newest first', () => {
  const state = fixtureState();
  const list = sessionNeighbours(contextOf(state, { userId: 'ux', recentItems: ['c3', 'b2'] }));
  const top = idsOf(state, list.items).slice(0, 6);
  assert.ok(
    top.every((id) => id.startsWith('c') || id.startsWith('b')),
    `${top}`,
  );
  assert.ok(top[0].startsWith('c'), 'the newest recent item weighs most');
  assert.equal(list.scores[0], 1);
  assert.ok(!idsOf(state, state.neighbours.of(state.items.index.get('c3') ?? -1).items).includes('c3'));
});

test('similar items (item_detail) are the context item’s neighbours', () => {
  const state = fixtureState();
  const list = similarItems(contextOf(state, { userId: 'u', surface: 'item_detail', itemId: 'b4' }));
  assert.deepEqual(
    idsOf(state, list.items)
      .slice(0, 7)
      .every((id) => id.startsWith('b')),
    true,
  );
});

test('cohort popularity uses the user’s cohort when the catalog knows it, global popularity otherwise', () => {
  const state = fixtureState();
  const known = cohortPopularity(contextOf(state, { userId: 'ux' }));
  const unknown = cohortPopularity(contextOf(state, { userId: 'nobody' }));
  assert.deepEqual(idsOf(state, unknown.items).slice(0, 2), ['b0', 'a0'], 'b0 has two users');
  const cohort = state.popularity.byCohort.get(state.catalog.cohortOfUser('ux') ?? '');
  assert.ok(cohort !== undefined);
  assert.equal((known.items as Int32Array).buffer, cohort.buffer, 'ux’s cohort table');
});

test('fresh items are the newest of the catalog within the window', () => {
  const state = fixtureState();
  const list = freshItems(contextOf(state, { userId: 'ux' }, { freshDays: 7 }));
  assert.deepEqual(idsOf(state, list.items).sort(), ['a7', 'b7', 'c7']);
});

test('the ANN query is the user’s vector moved toward the session; new users get the session or the mean', async () => {
  const state = fixtureState();
  assert.equal(queryVector(contextOf(state, { userId: 'ux' })).strategy, 'user');
  const steered = queryVector(
    contextOf(state, { userId: 'ux', recentItems: ['c0'] }, { sessionWeight: 0.9 }),
  );
  assert.equal(steered.strategy, 'user+session');
  assert.ok(steered.vector[2] > steered.vector[0], 'the session dominates at weight 0.9');
  assert.equal(queryVector(contextOf(state, { userId: 'new', recentItems: ['c0'] })).strategy, 'session');
  assert.equal(queryVector(contextOf(state, { userId: 'new' })).strategy, 'cold-start');

  const context = contextOf(state, { userId: 'ux', exclude: ['a2'] });
  assert.deepEqual([...excludedIds(context)].sort(), ['a0', 'a1', 'a2']);
  const ann = await annCandidates(context, new FallbackSearch(() => exactSearch, exactSearch, 0), 50);
  assert.deepEqual(idsOf(state, ann.list.items).slice(0, 3), ['a3', 'a4', 'a5']);
});

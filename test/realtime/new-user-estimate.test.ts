/** The new-user blend: popularity pooled with the session's co-occurrences, and the weights that rank it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cohortPopularity } from '../../services/serving/generators/cohort-popularity';
import { newUserEstimate } from '../../services/serving/generators/new-user-estimate';
import { blendWeights } from '../../services/serving/new-user-weights';
import { contextOf, fixtureState, idsOf } from '../serving/hot-state-fixture';

// In the fixture 9 users trained: b0 was seen by 4 of them, each c item by 2 (h2 and h5, who
// saw all of C and nothing else), so P(c_i | c3) = 1.
const at = (state: ReturnType<typeof fixtureState>, id: string) => state.items.index.get(id) ?? -1;

test('with an empty session the estimate is popularity: each item’s share of the users', () => {
  const state = fixtureState();
  const { items, rates } = newUserEstimate(state, undefined, [], 8, 24);
  assert.equal(idsOf(state, items)[0], 'b0');
  assert.ok(Math.abs(rates[0] - 4 / 9) < 1e-6, `${rates[0]}`);
});

test('each session item moves the estimate toward what its users did, by 1/(k + n)', () => {
  const state = fixtureState();
  const session = [at(state, 'c3')];
  for (const k of [0.5, 2, 8, 32]) {
    const { items, rates } = newUserEstimate(state, undefined, session, k, 24);
    const rateOf = (id: string) => rates[idsOf(state, items).indexOf(id)];
    assert.ok(Math.abs(rateOf('c0') - (k * (2 / 9) + 1) / (k + 1)) < 1e-6, `c0 at k ${k}`);
    assert.ok(Math.abs(rateOf('b0') - (k * (4 / 9)) / (k + 1)) < 1e-6, `b0 at k ${k}`);
  }
  const weak = idsOf(state, newUserEstimate(state, undefined, session, 1, 24).items);
  assert.ok(weak[0].startsWith('c'), 'one item outweighs a prior of one');
  const strong = idsOf(state, newUserEstimate(state, undefined, session, 1000, 24).items);
  assert.equal(strong[0], 'b0', 'a prior of 1000 items keeps popularity’s order');
  const more = idsOf(
    state,
    newUserEstimate(state, undefined, [at(state, 'c3'), at(state, 'c5')], 8, 24).items,
  );
  assert.deepEqual(
    more.slice(0, 6),
    ['c0', 'c1', 'c2', 'c4', 'c6', 'c7'],
    'each collects from both session items',
  );
});

test('a new user’s cohort counts, shrunk toward everyone: 20 pseudo-users', () => {
  const state = fixtureState();
  const cohort = state.catalog.cohortOfUser('ux');
  assert.ok(cohort !== undefined);
  const { items, rates } = newUserEstimate(state, cohort, [], 8, 24);
  // ux (the cohort's only trained user) saw a0; so did h0 and h3 of the 9.
  const a0 = idsOf(state, items).indexOf('a0');
  assert.ok(Math.abs(rates[a0] - (1 + (20 * 3) / 9) / (1 + 20)) < 1e-6, `${rates[a0]}`);
});

test('the popularity generator gives a new user with a session the estimate, best scoring 1', () => {
  const state = fixtureState();
  const list = cohortPopularity(
    contextOf(state, { userId: 'new', recentItems: ['c3'] }, { newUserShrinkage: 1 }),
  );
  assert.equal(list.generator, 'popularity');
  assert.ok(idsOf(state, list.items)[0].startsWith('c'));
  assert.equal(list.scores[0], 1);
  const plain = cohortPopularity(contextOf(state, { userId: 'new' }, { newUserShrinkage: 1 }));
  assert.deepEqual(idsOf(state, plain.items).slice(0, 1), ['b0'], 'no session: the popularity table');
  const known = cohortPopularity(contextOf(state, { userId: 'ux', recentItems: ['c3'] }));
  assert.equal(
    (known.items as Int32Array).buffer,
    state.popularity.byCohort.get(state.catalog.cohortOfUser('ux') ?? '')?.buffer,
  );
});

test('the blend weighs a new user with a session by newUserWeights, everyone else by the variant’s weights', () => {
  const state = fixtureState();
  const params = {
    weights: { ann: 1, session: 2, popularity: 0.3 },
    newUserWeights: { session: 0, popularity: 1 },
  };
  const newWithSession = blendWeights(contextOf(state, { userId: 'new', recentItems: ['c3'] }, params));
  assert.deepEqual(
    { ann: newWithSession.ann, session: newWithSession.session, popularity: newWithSession.popularity },
    { ann: 1, session: 0, popularity: 1 },
  );
  assert.equal(
    blendWeights(contextOf(state, { userId: 'new' }, params)).popularity,
    0.3,
    'nothing known yet',
  );
  assert.equal(
    blendWeights(contextOf(state, { userId: 'ux', recentItems: ['c3'] }, params)).popularity,
    0.3,
    'a user the release knows',
  );
});

/** New users (interests, fold-in) and the budget slot, over the pipeline's small fixture state. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { foldInSession } from '../../services/realtime/session-fold-in';
import { type Candidate, idOf } from '../../services/serving/candidates';
import { available } from '../../services/serving/filters/availability';
import { notExcluded } from '../../services/serving/filters/excluded';
import { notSeen } from '../../services/serving/filters/seen';
import { interestItems } from '../../services/serving/generators/interests';
import { LiveCatalog } from '../../services/serving/live-catalog';
import {
  type ExplorationSlots,
  notBudgeted,
  spendExplorationSlot,
} from '../../services/serving/post/budgeted-exploration';
import { contextOf, fixtureState, idsOf } from '../serving/hot-state-fixture';

test('onboarding interests (event or request) steer a new user’s candidates to those categories', () => {
  const catalog = new LiveCatalog();
  const state = fixtureState(catalog);
  catalog.applyUser({
    eventId: 'o1',
    type: 'onboarding_interests',
    userId: 'new',
    occurredAt: 1,
    categories: ['C'],
  });
  assert.deepEqual(catalog.interestsOfUser('new'), ['C']);
  const steered = interestItems({ ...contextOf(state, { userId: 'new' }), interests: ['C'] });
  assert.ok(steered.items.length > 0);
  assert.ok(idsOf(state, steered.items).every((id) => id.startsWith('c')));
  assert.equal(
    interestItems(contextOf(state, { userId: 'new' })).items.length,
    0,
    'no interests, no steering',
  );
});

test('a session folded into the item space points at the session’s cluster', () => {
  const state = fixtureState();
  const vector = foldInSession(state, [state.items.index.get('b2') ?? -1, state.items.index.get('b3') ?? -1]);
  assert.ok(vector);
  const score = (id: string) => {
    const i = state.items.index.get(id) ?? -1;
    return [0, 1, 2].reduce((s, d) => s + state.items.vectors[i * 3 + d] * vector[d], 0);
  };
  assert.ok(score('b5') > score('a0') && score('b5') > score('c0'));
  assert.equal(foldInSession(state, []), undefined);
});

class FakeBudget implements ExplorationSlots {
  constructor(readonly leases: Map<string, number>) {}
  budgeted = (id: string) => this.leases.has(id);
  exploringItems = () => [...this.leases.keys()];
  held = (id: string) => this.leases.get(id) ?? 0;
  takeImpression(id: string): boolean {
    const held = this.held(id);
    if (held === 0) return false;
    this.leases.set(id, held - 1);
    return true;
  }
  prefetched: string[] = [];
  prefetch = async (id: string) => {
    this.prefetched.push(id);
    return 0;
  };
}

const ranked = (state: ReturnType<typeof fixtureState>, ids: string[]): Candidate[] =>
  ids.map((id) => ({
    item: state.items.index.get(id) ?? -1,
    score: 1,
    sources: new Map(),
    exploration: false,
    propensity: 1,
  }));

test('the budget slot spends one held impression, records its propensity, and stops when the lease is spent', () => {
  const state = fixtureState();
  const context = contextOf(state, { userId: 'new', k: 4 }, { budgetSlot: 2, budgetSlotRate: 1 });
  const budget = new FakeBudget(
    new Map([
      ['c5', 2],
      ['c6', 0],
    ]),
  );
  const slate = ranked(state, ['a0', 'a1', 'b0', 'b1']);
  const first = spendExplorationSlot(
    context,
    slate,
    budget,
    () => true,
    () => 0,
  );
  assert.deepEqual(
    idsOf(
      state,
      first.map((c) => c.item),
    ),
    ['a0', 'c5', 'a1', 'b0'],
  );
  assert.equal(first[1].exploration, true);
  assert.equal(first[1].propensity, 1, 'rate 1, one item held: propensity 1');
  assert.deepEqual(
    budget.prefetched,
    ['c6'],
    'an exploring item without a lease gets one fetched, not shown',
  );
  spendExplorationSlot(
    context,
    slate,
    budget,
    () => true,
    () => 0,
  );
  assert.equal(budget.held('c5'), 0);
  const spent = spendExplorationSlot(
    context,
    slate,
    budget,
    () => true,
    () => 0,
  );
  assert.deepEqual(spent, slate, 'nothing held: the slate is the ranked one');
});

test('with rate r the drawn item’s propensity is r / pool, the displaced ones’ ×r, or ×(1 − r) when not drawn', () => {
  const state = fixtureState();
  const context = contextOf(state, { userId: 'new', k: 3 }, { budgetSlot: 2, budgetSlotRate: 0.25 });
  const budget = new FakeBudget(
    new Map([
      ['c5', 5],
      ['c6', 5],
    ]),
  );
  const slate = ranked(state, ['a0', 'a1', 'b0']);
  const drawn = spendExplorationSlot(
    context,
    slate,
    budget,
    () => true,
    () => 0.1,
  );
  assert.deepEqual(
    drawn.map((c) => c.propensity),
    [1, 0.125, 0.25],
  );
  const kept = spendExplorationSlot(
    context,
    slate,
    budget,
    () => true,
    () => 0.9,
  );
  assert.deepEqual(
    kept.map((c) => c.propensity),
    [1, 0.75, 0.75],
  );
  const notEligible = spendExplorationSlot(
    context,
    slate,
    budget,
    () => false,
    () => 0.1,
  );
  assert.deepEqual(notEligible, slate, 'an exploring item the user may not see is not drawn');
  const organic = ranked(state, ['c5', 'a0']).filter(notBudgeted(context, budget));
  assert.deepEqual(
    idsOf(
      state,
      organic.map((c) => c.item),
    ),
    ['a0'],
    'a budgeted item is shown only through its budget',
  );
});

test('an item created after the release, active in the live catalog, gets the budget slot; a blocked one does not', () => {
  const catalog = new LiveCatalog();
  const state = fixtureState(catalog);
  const created = (itemId: string, categories: string[]) =>
    catalog.apply({
      eventId: `e-${itemId}`,
      type: 'item_created',
      itemId,
      occurredAt: Date.UTC(2024, 2, 1),
      title: itemId,
      categories,
      year: 2024,
      text: '',
      qualityFlags: [],
    });
  created('new', ['A']);
  created('banned', ['C']);
  created('capped', ['C']);
  catalog.apply({
    eventId: 'b-banned',
    type: 'item_blocked',
    itemId: 'banned',
    occurredAt: Date.UTC(2024, 2, 2),
    reason: 'policy',
  });
  assert.equal(state.items.index.get('new'), undefined, 'the release does not contain it');
  const draw = (
    request: Record<string, unknown>,
    leases: [string, number][],
    recentUnreleased?: string[],
  ) => {
    const context = {
      ...contextOf(
        state,
        { userId: 'new', k: 4, ...request },
        { budgetSlot: 2, budgetSlotRate: 1, categoryCap: 2 },
      ),
      recentUnreleased: new Set(recentUnreleased),
    };
    const filters = [notSeen(context), available(context), notExcluded(context)];
    const slate = spendExplorationSlot(
      context,
      ranked(state, ['b0', 'b1', 'c0', 'c1']),
      new FakeBudget(new Map(leases)),
      (c) => filters.every((keep) => keep(c)),
      () => 0,
    );
    return slate.map((c) => ({ id: idOf(state, c), exploration: c.exploration, propensity: c.propensity }));
  };
  assert.deepEqual(draw({}, [['new', 3]])[1], { id: 'new', exploration: true, propensity: 1 });
  assert.deepEqual(
    draw({}, [['banned', 3]]).map((c) => c.id),
    ['b0', 'b1', 'c0', 'c1'],
    'a blocked item is never drawn',
  );
  assert.deepEqual(
    draw({}, [['unannounced', 3]]).map((c) => c.id),
    ['b0', 'b1', 'c0', 'c1'],
    'an item neither the release nor the live catalog knows is not drawn',
  );
  assert.equal(draw({ exclude: ['new'] }, [['new', 3]])[1].id, 'b1', 'an excluded item is not drawn');
  assert.equal(draw({}, [['new', 3]], ['new'])[1].id, 'b1', 'an item in the session is not drawn');
  assert.deepEqual(
    draw({}, [
      ['capped', 3],
      ['new', 3],
    ])
      .filter((c) => c.exploration)
      .map((c) => c.id),
    ['new'],
    'of two new items, the one that keeps the category cap (C is full) is drawn',
  );
});

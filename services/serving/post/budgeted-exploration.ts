/**
 * Exploration slots paid from the items' exploration budgets (granted by their lifecycle
 * workflows, leased by this replica, see services/lifecycle/exploration-budget.ts). An item
 * under a budget is shown only through it: it is filtered out of the ranked candidates, and one
 * slot (`budgetSlot`) is given, with probability `budgetSlotRate`, to an item drawn uniformly
 * from the exploring items this replica holds impressions for, preferring those that keep the
 * category cap. An item created after the release is drawn too when the live catalog knows it
 * as active: exploration is how a new item gets its first impressions, and its first
 * interactions, without waiting for a release to contain it. The impression is spent before
 * the slate is returned, so no replica shows more than it leased and the budget is never
 * exceeded. Propensities: the drawn item's is rate / pool size; the ranked items from the slot
 * down are at their position only if the draw did (or did not) happen, so theirs are multiplied
 * by rate (or 1 − rate).
 */
import { type Candidate, idOf, type RequestContext } from '../candidates';
import type { HotState } from '../hot-state';
import { categoryCounts, fitsCap } from './category-cap';

/** What serving needs of the budget client: ExplorationBudget is one. */
export interface ExplorationSlots {
  /** The item has a budget (with or without impressions left): it is shown only through it. */
  budgeted(itemId: string): boolean;
  exploringItems(): string[];
  held(itemId: string): number;
  takeImpression(itemId: string): boolean;
  /** Starts leasing for the item if none is held (the request does not wait for it). */
  prefetch(itemId: string): Promise<number>;
}

export function notBudgeted({ state }: RequestContext, budget: ExplorationSlots): (c: Candidate) => boolean {
  return (c) => !budget.budgeted(state.items.ids[c.item]);
}

export function spendExplorationSlot(
  context: RequestContext,
  slate: Candidate[],
  budget: ExplorationSlots,
  eligible: (c: Candidate) => boolean,
  random: () => number,
): Candidate[] {
  const { state, params, request } = context;
  const position = params.budgetSlot - 1;
  if (position < 0 || position > slate.length || position >= request.k) return slate;
  const shown = new Set(slate.map((c) => idOf(state, c)));
  const held: Candidate[] = [];
  for (const id of budget.exploringItems()) {
    const candidate = exploringCandidate(state, id);
    if (candidate === undefined || shown.has(id) || !eligible(candidate)) continue;
    if (budget.held(id) > 0) held.push(candidate);
    else void budget.prefetch(id).catch(() => undefined);
  }
  // The drawn item enters the cap's window in front of what follows, which can only move out of it.
  const counts = categoryCounts(context, slate.slice(0, params.categoryCapWindow - 1));
  const fitting =
    position < params.categoryCapWindow ? held.filter((c) => fitsCap(context, counts, c)) : held;
  const pool = fitting.length > 0 ? fitting : held;
  if (pool.length === 0) return slate;
  const rate = params.budgetSlotRate;
  const drawn = random() < rate ? pool[Math.floor(random() * pool.length)] : undefined;
  if (drawn === undefined || !budget.takeImpression(idOf(state, drawn)))
    return slate.map((c, i) => (i < position ? c : { ...c, propensity: c.propensity * (1 - rate) }));
  const after = slate.slice(position).map((c) => ({ ...c, propensity: c.propensity * rate }));
  return [...slate.slice(0, position), { ...drawn, propensity: rate / pool.length }, ...after].slice(
    0,
    request.k,
  );
}

/**
 * The release's row of an exploring item, or, for an item created after the release, its id:
 * the live catalog must know it, since nothing else can say it is active.
 */
function exploringCandidate(state: HotState, id: string): Candidate | undefined {
  const item = state.items.index.get(id);
  if (item !== undefined) return asExploration(item);
  return state.catalog.item(id)?.status === 'active' ? { ...asExploration(-1), itemId: id } : undefined;
}

function asExploration(item: number): Candidate {
  return { item, score: 0, sources: new Map(), exploration: true, propensity: 1 };
}

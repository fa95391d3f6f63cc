/**
 * At most `categoryCap` items of any one category among the first `categoryCapWindow`: an item
 * that would break the cap waits behind the window, keeping its order. When too few items fit,
 * the window is filled with the waiting ones rather than left short.
 */
import { type Candidate, idOf, type RequestContext } from '../candidates';

export function capCategories({ state, params }: RequestContext, ranked: Candidate[]): Candidate[] {
  const window: Candidate[] = [];
  const waiting: Candidate[] = [];
  const counts = new Map<string, number>();
  let next = 0;
  for (; next < ranked.length && window.length < params.categoryCapWindow; next++) {
    const candidate = ranked[next];
    const categories = state.catalog.categoriesOf(state.items.ids[candidate.item]);
    if (categories.some((c) => (counts.get(c) ?? 0) >= params.categoryCap)) {
      waiting.push(candidate);
      continue;
    }
    for (const c of categories) counts.set(c, (counts.get(c) ?? 0) + 1);
    window.push(candidate);
  }
  const short = params.categoryCapWindow - window.length;
  return [...window, ...waiting.slice(0, short), ...waiting.slice(short), ...ranked.slice(next)];
}

/** Counts per category over `items`, for steps that must keep the cap while they insert. */
export function categoryCounts({ state }: RequestContext, items: readonly Candidate[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of items)
    for (const category of state.catalog.categoriesOf(idOf(state, c)))
      counts.set(category, (counts.get(category) ?? 0) + 1);
  return counts;
}

export function fitsCap(context: RequestContext, counts: Map<string, number>, candidate: Candidate): boolean {
  return context.state.catalog
    .categoriesOf(idOf(context.state, candidate))
    .every((c) => (counts.get(c) ?? 0) < context.params.categoryCap);
}

/**
 * A freshness slot: when the slate would show no fresh item, the best-ranked fresh candidate
 * that keeps the category cap moves into the configured position, so new items get seen.
 */
import type { Candidate, RequestContext } from '../candidates';
import { categoryCounts, fitsCap } from './category-cap';

export function reserveFreshSlot(context: RequestContext, ranked: Candidate[]): Candidate[] {
  const { params, request, state } = context;
  const slot = params.freshSlot - 1;
  const shown = Math.min(request.k, ranked.length);
  if (slot < 0 || slot >= shown) return ranked;
  const fresh = (c: Candidate) => state.catalog.isFresh(state.items.ids[c.item], params.freshDays);
  if (ranked.slice(0, shown).some(fresh)) return ranked;
  const counts = categoryCounts(context, ranked.slice(0, params.categoryCapWindow - 1));
  const pick = ranked.findIndex((c, i) => i >= shown && fresh(c) && fitsCap(context, counts, c));
  if (pick < 0) return ranked;
  const out = ranked.slice();
  const [item] = out.splice(pick, 1);
  out.splice(slot, 0, item);
  return out;
}

/**
 * Business rules from config, applied before the reordering steps so that they cannot undo
 * the caps: `drop_adult` removes items flagged adult, `demote_low_quality` moves items flagged
 * low quality behind the rest.
 */
import type { Candidate, RequestContext } from '../candidates';

export function applyBusinessRules({ state, params }: RequestContext, ranked: Candidate[]): Candidate[] {
  let out = ranked;
  const flags = (c: Candidate) => state.catalog.item(state.items.ids[c.item])?.qualityFlags ?? [];
  for (const rule of params.businessRules) {
    if (rule === 'drop_adult') out = out.filter((c) => !flags(c).includes('adult'));
    else {
      const low = (c: Candidate) => flags(c).includes('low_quality');
      out = [...out.filter((c) => !low(c)), ...out.filter(low)];
    }
  }
  return out;
}

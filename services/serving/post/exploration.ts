/**
 * ε-greedy exploration: each of the k slots is, with probability ε, given to an item drawn
 * uniformly from the candidates below the slate (and within the category cap) instead of the
 * next ranked one. Every shown item records its propensity: 1 − ε for a ranked item (the
 * chance its slot was not an exploration slot), ε / pool size for an explored one.
 */
import type { Candidate, RequestContext } from '../candidates';
import { categoryCounts, fitsCap } from './category-cap';

export function explore(context: RequestContext, ranked: Candidate[], random: () => number): Candidate[] {
  const { request, params } = context;
  const epsilon = params.explorationRate;
  const k = Math.min(request.k, ranked.length);
  const exploit = ranked.slice(0, k);
  const pool = ranked.slice(k);
  // The ranked items that can end up in the cap's window are at most its first entries.
  const counts = categoryCounts(context, exploit.slice(0, params.categoryCapWindow));
  const slate: Candidate[] = [];
  let next = 0;
  for (let slot = 0; slot < k; slot++) {
    const exploring = random() < epsilon;
    // Only an exploration slot needs the eligible pool; the ranked slots' propensity only needs to know it is not empty.
    const eligible =
      slot >= params.categoryCapWindow
        ? pool
        : exploring
          ? pool.filter((c) => fitsCap(context, counts, c))
          : pool.find((c) => fitsCap(context, counts, c)) === undefined
            ? []
            : pool;
    if (exploring && eligible.length > 0) {
      const drawn = eligible[Math.floor(random() * eligible.length)];
      pool.splice(pool.indexOf(drawn), 1);
      if (slot < params.categoryCapWindow)
        for (const [c, n] of categoryCounts(context, [drawn])) counts.set(c, (counts.get(c) ?? 0) + n);
      slate.push({ ...drawn, exploration: true, propensity: epsilon / eligible.length });
    } else
      slate.push({
        ...exploit[next++],
        exploration: false,
        propensity: eligible.length > 0 ? 1 - epsilon : 1,
      });
  }
  return slate;
}

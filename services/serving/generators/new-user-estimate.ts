/**
 * Popularity for a user the release does not know, sharpened by the few items of their session.
 * Each item's chance of being the user's next is estimated as the share of their demographic
 * cohort that interacted with it, pooled with, for each session item j, the share of j's users
 * that interacted with it, P(i | j), the cohort counting as `shrinkage` session items:
 *
 *   p(i) = (k · P(i | cohort) + Σ_j P(i | j)) / (k + n)
 *
 * So with nothing known it is cohort popularity, and each interaction moves the estimate by
 * 1/(k + n) toward what that item's users did: the weight of the session grows as n/(n + k).
 * Both terms are rates counted in the release's training histories, on one scale, so no
 * weight between them needs tuning beyond k (chosen on validation users by `cairn bench
 * cold-users`). A fold-in of one to five items overfits them; this estimate cannot fall far
 * below popularity, since every term is a popularity among some users.
 */
import type { HotState } from '../hot-state';
import { cohortShrinkage } from '../popularity-tables';

/** Items kept per session item: past these, P(i | j) is too small to move a top-k. */
const conditionalKept = 500;

export interface ItemRates {
  items: Int32Array;
  rates: Float32Array;
}

/**
 * The counts behind the estimate, per release state: built on the first new user's request
 * and kept with the state. Cohort rates and each item's co-occurrence rates are counted on
 * first use, one pass over the histories involved.
 */
class Evidence {
  private readonly global: Float64Array;
  private readonly usersOf: Int32Array[];
  private readonly userIds: string[];
  private readonly cohorts = new Map<string, Float32Array>();
  private readonly conditional = new Map<number, ItemRates>();

  constructor(private readonly state: HotState) {
    const nItems = state.items.ids.length;
    const { seen } = state.users;
    this.global = new Float64Array(nItems);
    for (const row of seen) for (const item of row) this.global[item]++;
    this.usersOf = Array.from(this.global, (n) => new Int32Array(n));
    const fill = new Int32Array(nItems);
    seen.forEach((row, u) => {
      for (const item of row) this.usersOf[item][fill[item]++] = u;
    });
    this.userIds = [];
    for (const [id, u] of state.users.index) this.userIds[u] = id;
  }

  /** Share of the cohort's users that interacted with each item, shrunk toward everyone's share. */
  cohortRates(cohort: string | undefined): Float32Array {
    const key = cohort ?? '';
    let rates = this.cohorts.get(key);
    if (rates !== undefined) return rates;
    const { seen } = this.state.users;
    const everyone = Math.max(1, seen.length);
    const counts = new Float64Array(this.global.length);
    let size = 0;
    if (cohort !== undefined)
      seen.forEach((row, u) => {
        if (this.state.catalog.cohortOfUser(this.userIds[u]) !== cohort) return;
        size++;
        for (const item of row) counts[item]++;
      });
    rates = Float32Array.from(
      counts,
      (c, i) => (c + (cohortShrinkage * this.global[i]) / everyone) / (size + cohortShrinkage),
    );
    this.cohorts.set(key, rates);
    return rates;
  }

  /** P(i | j): of the users who interacted with j, the share who interacted with i; best first. */
  given(item: number): ItemRates {
    const cached = this.conditional.get(item);
    if (cached !== undefined) return cached;
    const counts = new Map<number, number>();
    for (const u of this.usersOf[item])
      for (const other of this.state.users.seen[u])
        if (other !== item) counts.set(other, (counts.get(other) ?? 0) + 1);
    const users = Math.max(1, this.usersOf[item].length);
    const ranked = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, conditionalKept);
    const rates = {
      items: Int32Array.from(ranked, ([other]) => other),
      rates: Float32Array.from(ranked, ([, n]) => n / users),
    };
    this.conditional.set(item, rates);
    return rates;
  }
}

const evidence = new WeakMap<HotState, Evidence>();

function evidenceOf(state: HotState): Evidence {
  let found = evidence.get(state);
  if (found === undefined) {
    found = new Evidence(state);
    evidence.set(state, found);
  }
  return found;
}

/**
 * The `limit` items of highest estimate, best first. Candidates are the cohort's most popular
 * `limit` and every item seen with a session item; the session's own items are left in (the
 * filters remove them).
 */
export function newUserEstimate(
  state: HotState,
  cohort: string | undefined,
  session: readonly number[],
  shrinkage: number,
  limit: number,
): ItemRates {
  const facts = evidenceOf(state);
  const base = facts.cohortRates(cohort);
  const ranked =
    (cohort === undefined ? undefined : state.popularity.byCohort.get(cohort)) ?? state.popularity.global;
  const pooled = new Map<number, number>();
  for (const item of ranked.subarray(0, limit)) pooled.set(item, shrinkage * base[item]);
  for (const item of session) {
    const { items, rates } = facts.given(item);
    for (let n = 0; n < items.length; n++)
      pooled.set(items[n], (pooled.get(items[n]) ?? shrinkage * base[items[n]]) + rates[n]);
  }
  const top = [...pooled].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, limit);
  const total = shrinkage + session.length;
  return {
    items: Int32Array.from(top, ([item]) => item),
    rates: Float32Array.from(top, ([, sum]) => sum / total),
  };
}

/**
 * Popularity counted from a release's training histories: overall and per cohort. Cohorts are
 * small, so a cohort's counts are shrunk toward the global ones by `shrinkage` pseudo-users.
 * The retrain publishes the cohort tables; serving computes them itself for a release without.
 */

export const cohortShrinkage = 20;

export interface PopularityTables {
  /** Item indexes, most interacted with first. */
  global: Int32Array;
  byCohort: Map<string, Int32Array>;
}

const ranked = (scores: Float64Array) =>
  Int32Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);

/** `cohortOf(u)` is the cohort key of the u-th history's user, undefined when unknown. */
export function popularityTables(
  seen: readonly ArrayLike<number>[],
  nItems: number,
  cohortOf: (user: number) => string | undefined,
): PopularityTables {
  const global = new Float64Array(nItems);
  const byCohort = new Map<string, { counts: Float64Array; users: number }>();
  seen.forEach((row, u) => {
    const cohort = cohortOf(u);
    let entry = cohort === undefined ? undefined : byCohort.get(cohort);
    if (cohort !== undefined && entry === undefined) {
      entry = { counts: new Float64Array(nItems), users: 0 };
      byCohort.set(cohort, entry);
    }
    if (entry !== undefined) entry.users++;
    for (let n = 0; n < row.length; n++) {
      global[row[n]]++;
      if (entry !== undefined) entry.counts[row[n]]++;
    }
  });
  const users = Math.max(1, seen.length);
  const tables = new Map<string, Int32Array>();
  for (const [cohort, { counts, users: size }] of byCohort) {
    const shrunk = new Float64Array(nItems);
    for (let i = 0; i < nItems; i++)
      shrunk[i] = (counts[i] + (cohortShrinkage * global[i]) / users) / (size + cohortShrinkage);
    tables.set(cohort, ranked(shrunk));
  }
  return { global: ranked(global), byCohort: tables };
}

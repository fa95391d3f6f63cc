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

/** Ahead in a ranking: the higher score, and on a tie the lower item index. */
const ahead = (scoreA: number, a: number, scoreB: number, b: number) =>
  scoreA > scoreB || (scoreA === scoreB && a < b);

/**
 * `cohortOf(u)` is the cohort key of the u-th history's user, undefined when unknown. Each
 * cohort ranking keeps its first `limit` items. An item no one in a cohort touched scores the
 * global share alone, in the global order, so a cohort ranks only the items its users touched
 * and merges them into the global ranking: memory and time follow the interactions, not
 * cohorts × catalog (300 cohorts over a million items would be 2.4 GB of counts).
 */
export function popularityTables(
  seen: readonly ArrayLike<number>[],
  nItems: number,
  cohortOf: (user: number) => string | undefined,
  limit = nItems,
): PopularityTables {
  const global = new Float64Array(nItems);
  const members = new Map<string, number[]>();
  seen.forEach((row, u) => {
    for (let n = 0; n < row.length; n++) global[row[n]]++;
    const cohort = cohortOf(u);
    if (cohort === undefined) return;
    const list = members.get(cohort);
    if (list === undefined) members.set(cohort, [u]);
    else list.push(u);
  });
  const globalRanking = ranked(global);
  const users = Math.max(1, seen.length);
  const counts = new Float64Array(nItems);
  const touched = new Uint8Array(nItems);
  const byCohort = new Map<string, Int32Array>();
  for (const [cohort, cohortUsers] of members) {
    const items: number[] = [];
    for (const u of cohortUsers) {
      const row = seen[u];
      for (let n = 0; n < row.length; n++) {
        if (touched[row[n]] === 0) items.push(row[n]);
        touched[row[n]] = 1;
        counts[row[n]]++;
      }
    }
    const size = cohortUsers.length;
    const score = (i: number) =>
      (counts[i] + (cohortShrinkage * global[i]) / users) / (size + cohortShrinkage);
    const scores = new Float64Array(items.map(score));
    const order = Int32Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || items[a] - items[b]);
    const table = new Int32Array(Math.min(limit, nItems));
    let t = 0;
    let g = 0;
    for (let filled = 0; filled < table.length; filled++) {
      while (g < nItems && touched[globalRanking[g]] === 1) g++;
      const mine = t < order.length ? items[order[t]] : -1;
      const other = g < nItems ? globalRanking[g] : -1;
      const takeMine = other < 0 || (mine >= 0 && ahead(scores[order[t]], mine, score(other), other));
      table[filled] = takeMine ? mine : other;
      if (takeMine) t++;
      else g++;
    }
    for (const i of items) {
      counts[i] = 0;
      touched[i] = 0;
    }
    byCohort.set(cohort, table);
  }
  return { global: globalRanking, byCohort };
}

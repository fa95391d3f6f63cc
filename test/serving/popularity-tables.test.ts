import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../../services/models/random';
import { cohortShrinkage, popularityTables } from '../../services/serving/popularity-tables';

/** The definition: every item scored by its shrunk cohort share, best first, lower index on a tie. */
function rankedByDefinition(seen: number[][], nItems: number, members: number[]): number[] {
  const global = new Float64Array(nItems);
  const counts = new Float64Array(nItems);
  seen.forEach((row, u) => {
    for (const i of row) {
      global[i]++;
      if (members.includes(u)) counts[i]++;
    }
  });
  const score = (i: number) =>
    (counts[i] + (cohortShrinkage * global[i]) / seen.length) / (members.length + cohortShrinkage);
  return [...global.keys()].sort((a, b) => score(b) - score(a) || a - b);
}

test('a cohort ranks the items its users touched into the global order, as if every item were scored', () => {
  const next = mulberry32(11);
  const nItems = 400;
  const seen = Array.from({ length: 300 }, () => [
    ...new Set(Array.from({ length: Math.floor(next() * 25) }, () => Math.floor(next() * next() * nItems))),
  ]);
  const cohortOf = (u: number) => (u % 5 === 0 ? undefined : `cohort-${u % 4}`);
  const full = popularityTables(seen, nItems, cohortOf);
  const cut = popularityTables(seen, nItems, cohortOf, 25);
  assert.equal(full.byCohort.size, 4);
  for (const [cohort, ranking] of full.byCohort) {
    const members = seen.map((_, u) => u).filter((u) => cohortOf(u) === cohort);
    const expected = rankedByDefinition(seen, nItems, members);
    assert.deepEqual(Array.from(ranking), expected, `${cohort}: the full ranking`);
    assert.deepEqual(
      Array.from(cut.byCohort.get(cohort) ?? []),
      expected.slice(0, 25),
      `${cohort}: the first 25`,
    );
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildServingTables,
  cohortTableLength,
  neighbourTableMaxItems,
} from '../../services/training/serving-tables';

test('a catalog over the neighbour-table limit gets no table, and cohort rankings keep the most popular items serving can read', () => {
  const nItems = neighbourTableMaxItems + 1;
  const users = Array.from({ length: 30 }, (_, u) => `u${u}`);
  // Every user saw item 7 and a few of the last items; the rest of the catalog was never seen.
  const seen = users.map((_, u) => [7, nItems - 1 - (u % 3), nItems - 10 - u]);
  const tables = buildServingTables({
    items: {
      ids: Array.from({ length: nItems }, (_, i) => `i${i}`),
      dims: 1,
      similarity: 'max_inner_product',
      vectors: new Float32Array(nItems).fill(1),
    },
    users: { ids: users, seen },
    demographics: new Map(users.map((id) => [id, { age: 30, gender: 'F', occupation: 'writer' }])),
    content: new Map(),
  });
  assert.equal(tables.neighbours, undefined, 'replicas compute neighbours on demand instead');
  const ranking = tables.cohortPopularity['2|F|writer'];
  assert.equal(ranking.length, cohortTableLength);
  assert.equal(ranking[0], 7, 'the most popular item first');
  assert.deepEqual(ranking.slice(1, 4), [nItems - 3, nItems - 2, nItems - 1], 'then by count, ties by index');
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildInteractionMatrix, indexInteractions } from '../../services/models/interaction-matrix';
import { ageBand, CohortPopularity, GlobalPopularity } from '../../services/models/popularity';
import type { Demographics, Interaction } from '../../services/models/types';

const log: Interaction[] = [
  { user: 'young1', item: 'cartoon', timestamp: 0 },
  { user: 'young2', item: 'cartoon', timestamp: 0 },
  { user: 'old1', item: 'drama', timestamp: 0 },
  { user: 'old2', item: 'drama', timestamp: 0 },
  { user: 'old3', item: 'drama', timestamp: 0 },
  { user: 'old3', item: 'cartoon', timestamp: 0 },
  { user: 'anon', item: 'drama', timestamp: 0 },
];
const demographics = new Map<string, Demographics>([
  ['young1', { age: 12, gender: 'F', occupation: 'student' }],
  ['young2', { age: 15, gender: 'F', occupation: 'student' }],
  ['old1', { age: 60, gender: 'M', occupation: 'retired' }],
  ['old2', { age: 70, gender: 'M', occupation: 'retired' }],
  ['old3', { age: 58, gender: 'M', occupation: 'retired' }],
]);
const { users, items } = indexInteractions(log);
const m = buildInteractionMatrix(log, users, items);

describe('popularity', () => {
  it('global popularity counts distinct users per item', () => {
    const model = new GlobalPopularity();
    model.fit(m);
    const scores = new Float32Array(m.nItems);
    model.scoreUser(0, scores);
    assert.equal(scores[items.require('drama')], 4);
    assert.equal(scores[items.require('cartoon')], 3);
  });

  it('uses MovieLens age bands', () => {
    assert.deepEqual(
      [17, 18, 24, 25, 34, 35, 44, 45, 49, 50, 55, 56, 90].map(ageBand),
      [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6],
    );
  });

  it('cohort popularity is the cohort share shrunk toward the global share', () => {
    const model = new CohortPopularity(demographics, { shrinkage: 2 });
    model.fit(m);
    const scores = new Float32Array(m.nItems);
    model.scoreUser(users.require('young1'), scores);
    // Cohort: 2 users, both watched cartoon; global shares over 6 users: cartoon 3/6, drama 4/6.
    assert.ok(Math.abs(scores[items.require('cartoon')] - (2 + 2 * (3 / 6)) / (2 + 2)) < 1e-6);
    assert.ok(Math.abs(scores[items.require('drama')] - (0 + 2 * (4 / 6)) / (2 + 2)) < 1e-6);
    assert.ok(scores[items.require('cartoon')] > scores[items.require('drama')]);
  });

  it('falls back to the global share for users without demographics', () => {
    const model = new CohortPopularity(demographics, { shrinkage: 2 });
    model.fit(m);
    const scores = new Float32Array(m.nItems);
    model.scoreUser(users.require('anon'), scores);
    assert.ok(Math.abs(scores[items.require('drama')] - 4 / 6) < 1e-6);
  });
});

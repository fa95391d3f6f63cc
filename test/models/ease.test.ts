import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { topK } from '../../services/evaluation/topk';
import { Ease } from '../../services/models/ease';
import {
  buildInteractionMatrix,
  indexInteractions,
  itemsOfUser,
} from '../../services/models/interaction-matrix';
import { mulberry32 } from '../../services/models/random';
import type { Interaction } from '../../services/models/types';

describe('Ease', () => {
  it('solves the zero-diagonal ridge problem: (XᵀX + λI)(I − B) is diagonal', () => {
    const random = mulberry32(9);
    const nItems = 12;
    const log: Interaction[] = [];
    for (let u = 0; u < 40; u++) {
      for (let i = 0; i < nItems; i++)
        if (random() < 0.3) log.push({ user: `u${u}`, item: `i${i}`, timestamp: 0 });
    }
    // A one-item user per item reads back row i of B as their scores.
    for (let i = 0; i < nItems; i++) log.push({ user: `solo${i}`, item: `i${i}`, timestamp: 0 });
    const { users, items } = indexInteractions(log);
    const m = buildInteractionMatrix(log, users, items);
    const lambda = 3;
    const ease = new Ease({ lambda });
    ease.fit(m);

    const n = m.nItems;
    const b = new Float64Array(n * n);
    const row = new Float32Array(n);
    for (let i = 0; i < nItems; i++) {
      const item = items.require(`i${i}`);
      ease.scoreUser(users.require(`solo${i}`), row);
      b.set(row, item * n);
    }
    const g = new Float64Array(n * n);
    for (let u = 0; u < m.nUsers; u++) {
      for (const i of itemsOfUser(m, u)) for (const j of itemsOfUser(m, u)) g[i * n + j]++;
    }
    for (let i = 0; i < n; i++) {
      assert.equal(b[i * n + i], 0);
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        let s = 0;
        for (let k = 0; k < n; k++)
          s += (g[i * n + k] + (i === k ? lambda : 0)) * ((k === j ? 1 : 0) - b[k * n + j]);
        assert.ok(Math.abs(s) < 1e-4, `off-diagonal (${i}, ${j}) = ${s}`);
      }
    }
  });

  it('recommends within the cluster a user comes from', () => {
    const log: Interaction[] = [];
    for (let u = 0; u < 30; u++) {
      const cluster = u % 2 === 0 ? 'a' : 'b';
      for (let i = 0; i < 5; i++)
        if ((u + i) % 5 !== 0) log.push({ user: `u${u}`, item: `${cluster}${i}`, timestamp: 0 });
    }
    const { users, items } = indexInteractions(log);
    const m = buildInteractionMatrix(log, users, items);
    const ease = new Ease({ lambda: 1 });
    ease.fit(m);
    const scores = new Float32Array(m.nItems);
    const u = users.require('u0');
    ease.scoreUser(u, scores);
    const [best] = topK(scores, 1, itemsOfUser(m, u));
    assert.equal(items.ids[best], 'a0');
  });

  it('with a recency half-life, the latest items drive the scores', () => {
    const log: Interaction[] = [];
    // Items come in co-consumed pairs (p, q) per letter.
    for (let u = 0; u < 20; u++) {
      for (const letter of ['a', 'b']) {
        log.push({ user: `u${u}-${letter}`, item: `${letter}p`, timestamp: 0 });
        log.push({ user: `u${u}-${letter}`, item: `${letter}q`, timestamp: 0 });
      }
    }
    // A probe user touched ap long ago and bp just now.
    log.push({ user: 'probe', item: 'ap', timestamp: 1 }, { user: 'probe', item: 'bp', timestamp: 2 });
    const { users, items } = indexInteractions(log);
    const m = buildInteractionMatrix(log, users, items);
    const scores = new Float32Array(m.nItems);
    const probe = users.require('probe');

    const recent = new Ease({ lambda: 1, recencyHalfLife: 1 });
    recent.fit(m);
    recent.scoreUser(probe, scores);
    assert.ok(scores[items.require('bq')] > scores[items.require('aq')]);

    const uniform = new Ease({ lambda: 1 });
    uniform.fit(m);
    uniform.scoreUser(probe, scores);
    assert.ok(Math.abs(scores[items.require('bq')] - scores[items.require('aq')]) < 1e-6);
  });
});

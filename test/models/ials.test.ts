import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { topK } from '../../services/evaluation/topk';
import { Ials, type IalsParams } from '../../services/models/ials';
import {
  buildInteractionMatrix,
  indexInteractions,
  itemsOfUser,
} from '../../services/models/interaction-matrix';
import { mulberry32 } from '../../services/models/random';
import type { Interaction } from '../../services/models/types';

/** Users in `groups` taste groups, each consuming a random 60% of its group's items. */
function groupedLog(
  groups: number,
  usersPerGroup: number,
  itemsPerGroup: number,
  seed: number,
): Interaction[] {
  const random = mulberry32(seed);
  const log: Interaction[] = [];
  for (let g = 0; g < groups; g++) {
    for (let u = 0; u < usersPerGroup; u++) {
      for (let i = 0; i < itemsPerGroup; i++) {
        if (random() < 0.6) log.push({ user: `g${g}u${u}`, item: `g${g}i${i}`, timestamp: u * 100 + i });
      }
    }
  }
  return log;
}

const groupOf = (id: string) => id.split(/[ui]/)[0];

describe('Ials', () => {
  const log = groupedLog(4, 30, 25, 1);
  const { users, items } = indexInteractions(log);
  const m = buildInteractionMatrix(log, users, items);
  const params: IalsParams = { factors: 8, lambda: 1, alpha: 10, epochs: 8 };

  // 8 factors run in the WebAssembly kernel; 6 (not a multiple of 4) in the JavaScript one, threaded.
  for (const variant of [params, { ...params, factors: 6, threads: 2 }]) {
    it(`recommends unseen items from the user’s own taste group (${variant.factors} factors)`, async () => {
      const model = new Ials(variant);
      await model.fit(m);
      const scores = new Float32Array(m.nItems);
      for (let u = 0; u < m.nUsers; u++) {
        model.scoreUser(u, scores);
        // Heavy users may have fewer than five unseen items left in their own group.
        const unseenInGroup = 25 - itemsOfUser(m, u).length;
        for (const i of topK(scores, Math.min(5, unseenInGroup), itemsOfUser(m, u))) {
          assert.equal(groupOf(items.ids[i]), groupOf(users.ids[u]), users.ids[u]);
        }
      }
    });
  }

  it('is reproducible, and worker threads give the same scores as one thread up to rounding', async () => {
    const single = new Ials(params);
    const repeat = new Ials(params);
    const threaded = new Ials({ ...params, threads: 2 });
    await Promise.all([single.fit(m), repeat.fit(m), threaded.fit(m)]);
    const a = new Float32Array(m.nItems);
    const b = new Float32Array(m.nItems);
    const c = new Float32Array(m.nItems);
    for (let u = 0; u < m.nUsers; u++) {
      single.scoreUser(u, a);
      repeat.scoreUser(u, b);
      threaded.scoreUser(u, c);
      assert.deepEqual(b, a);
      // Threads sum their rows' share of the Gramian apart, so the last bits may differ.
      for (let i = 0; i < m.nItems; i++) assert.ok(Math.abs(c[i] - a[i]) <= 1e-4 * (1 + Math.abs(a[i])));
    }
  });

  it('folds in a new user from a handful of items', async () => {
    const model = new Ials(params);
    await model.fit(m);
    const history = ['g2i0', 'g2i3', 'g2i7'].map((id) => items.require(id));
    const scores = new Float32Array(m.nItems);
    model.scoreVector(model.foldInUser(history), scores);
    for (const i of topK(scores, 5, Int32Array.from(history).sort()))
      assert.equal(groupOf(items.ids[i]), 'g2');
  });

  it('with a recency half-life, fold-in follows the latest items', async () => {
    const model = new Ials({ ...params, recencyHalfLife: 1 });
    await model.fit(m);
    const history = ['g0i1', 'g0i2', 'g0i4', 'g0i5', 'g3i0', 'g3i2'].map((id) => items.require(id));
    const scores = new Float32Array(m.nItems);
    model.scoreVector(model.foldInUser(history), scores);
    const [best] = topK(scores, 1, Int32Array.from(history).sort());
    assert.equal(groupOf(items.ids[best]), 'g3');
  });

  it('a recency half-life still learns the groups', async () => {
    const model = new Ials({ ...params, recencyHalfLife: 5 });
    await model.fit(m);
    const scores = new Float32Array(m.nItems);
    const u = users.require('g1u3');
    model.scoreUser(u, scores);
    for (const i of topK(scores, 3, itemsOfUser(m, u))) assert.equal(groupOf(items.ids[i]), 'g1');
  });
});

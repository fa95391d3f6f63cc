import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32 } from '../../services/models/random';
import { clickModel, examination, planReplay, simulateClicks } from '../../services/report/replay-plan';

describe('the demo replay and its click model', () => {
  it('replays a sample of test users, each capped, in time order', () => {
    const test = Array.from({ length: 200 }, (_, i) => ({
      user: `u${i % 20}`,
      item: `i${i}`,
      timestamp: 1000 - i,
      rating: 1 + (i % 5),
    }));
    const plan = planReplay(test, 5, 3, 1);
    assert.equal(plan.users.length, 5);
    assert.equal(plan.requests.length, 15);
    assert.deepEqual(
      plan.requests.map((r) => r.at),
      [...plan.requests.map((r) => r.at)].sort((a, b) => a - b),
    );
    for (const u of plan.users) assert.equal(plan.heldOut.get(u)?.size, 10);
    assert.deepEqual(planReplay(test, 5, 3, 1), plan, 'seeded');
  });

  it('clicks a held-out item at rank r with probability r^-0.7 × 0.9, once, with its rating', () => {
    const random = mulberry32(3);
    const trials = 20_000;
    const byRank = new Array(10).fill(0);
    for (let t = 0; t < trials; t++) {
      const slate = Array.from({ length: 10 }, (_, r) => `i${r}`);
      const clicks = simulateClicks(slate, new Map(slate.map((s) => [s, 4])), new Set(), new Map(), random);
      for (const c of clicks) {
        byRank[c.rank - 1]++;
        assert.equal(c.rating, 4);
      }
    }
    for (let r = 1; r <= 10; r++) {
      const expected = examination(r) * clickModel.relevantAttraction;
      assert.ok(
        Math.abs(byRank[r - 1] / trials - expected) < 0.015,
        `rank ${r}: ${byRank[r - 1] / trials} vs ${expected}`,
      );
    }
    const clicked = new Set(['a']);
    const always = () => 0;
    assert.deepEqual(
      simulateClicks(['a', 'new'], new Map([['a', 5]]), clicked, new Map([['new', 'a']]), always),
      [
        { itemId: 'a', rank: 1, rating: undefined },
        { itemId: 'new', rank: 2, rating: 5 },
      ],
    );
  });
});

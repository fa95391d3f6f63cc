import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildInteractionMatrix, indexInteractions } from '../../services/models/interaction-matrix';
import { recencyWeights } from '../../services/models/recency';
import type { Interaction } from '../../services/models/types';

describe('recencyWeights', () => {
  it('halves every `halfLife` strictly-more-recent items and lets ties share a weight', () => {
    const log: Interaction[] = [
      { user: 'u', item: 'a', timestamp: 10 },
      { user: 'u', item: 'b', timestamp: 30 },
      { user: 'u', item: 'c', timestamp: 30 },
      { user: 'u', item: 'd', timestamp: 20 },
      { user: 'v', item: 'a', timestamp: 1 },
    ];
    const { users, items } = indexInteractions(log);
    const m = buildInteractionMatrix(log, users, items);
    const weights = recencyWeights(m, 2);
    const u = users.require('u');
    const byItem = new Map<string, number>();
    for (let n = m.userPtr[u]; n < m.userPtr[u + 1]; n++) byItem.set(items.ids[m.userItems[n]], weights[n]);
    assert.deepEqual(Object.fromEntries(byItem), { a: Math.fround(2 ** -1.5), b: 1, c: 1, d: 0.5 });
    assert.equal(weights[m.userPtr[users.require('v')]], 1);
  });
});

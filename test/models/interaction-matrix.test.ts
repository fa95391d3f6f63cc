import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildInteractionMatrix,
  IdIndex,
  indexInteractions,
  itemsOfUser,
  usersOfItem,
} from '../../services/models/interaction-matrix';
import type { Interaction } from '../../services/models/types';

const log: Interaction[] = [
  { user: 'b', item: 'y', timestamp: 5 },
  { user: 'a', item: 'z', timestamp: 2 },
  { user: 'a', item: 'x', timestamp: 1 },
  { user: 'b', item: 'x', timestamp: 3 },
  { user: 'a', item: 'x', timestamp: 9 },
];

describe('IdIndex', () => {
  it('indexes sorted distinct ids', () => {
    const index = IdIndex.of(['b', 'a', 'b']);
    assert.deepEqual(index.ids, ['a', 'b']);
    assert.equal(index.indexOf('b'), 1);
    assert.equal(index.indexOf('nope'), undefined);
    assert.throws(() => index.require('nope'), /unknown id/);
  });
});

describe('buildInteractionMatrix', () => {
  const { users, items } = indexInteractions(log);
  const m = buildInteractionMatrix(log, users, items);

  it('collapses repeated pairs and keeps their latest time', () => {
    assert.equal(m.nnz, 4);
    const a = users.require('a');
    assert.deepEqual(Array.from(itemsOfUser(m, a)), [items.require('x'), items.require('z')]);
    assert.deepEqual(Array.from(m.userTimes.subarray(m.userPtr[a], m.userPtr[a + 1])), [9, 2]);
  });

  it('CSC holds the same pairs as CSR, users ascending, with entry links back to CSR', () => {
    const x = items.require('x');
    assert.deepEqual(Array.from(usersOfItem(m, x)), [0, 1]);
    const pairs = new Set<string>();
    for (let u = 0; u < m.nUsers; u++) for (const i of itemsOfUser(m, u)) pairs.add(`${u},${i}`);
    for (let i = 0; i < m.nItems; i++) {
      for (let n = m.itemPtr[i]; n < m.itemPtr[i + 1]; n++) {
        assert.ok(pairs.has(`${m.itemUsers[n]},${i}`));
        assert.equal(m.userItems[m.itemEntries[n]], i);
      }
    }
  });

  it('leaves users and items without interactions as empty rows and columns of the shared index', () => {
    const only = buildInteractionMatrix([log[0]], users, items);
    assert.equal(only.nUsers, 2);
    assert.equal(itemsOfUser(only, users.require('a')).length, 0);
    assert.equal(usersOfItem(only, items.require('z')).length, 0);
  });

  it('rejects ids outside the index', () => {
    assert.throws(() => buildInteractionMatrix([{ user: 'c', item: 'x', timestamp: 0 }], users, items));
  });
});

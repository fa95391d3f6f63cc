import assert from 'node:assert/strict';
import { test } from 'node:test';
import { carriedFromChampion, twoTowerSource } from '../../services/training/carried-families';

const release = (version: string, metadata: Record<string, unknown>) => ({ version, metadata });
const won = { won: true };
const lost = { won: false };

test('a release serves its own towers when they won, else the ones it carried, else none', () => {
  assert.equal(twoTowerSource(release('a', { twoTower: won })), 'a');
  assert.equal(twoTowerSource(release('b', { twoTower: lost, carried: { twoTower: { from: 'a' } } })), 'a');
  assert.equal(twoTowerSource(release('c', { twoTower: lost, carried: {} })), undefined);
  assert.equal(twoTowerSource(release('old', {})), undefined, 'a release from before the two-tower family');
});

test('a challenger whose towers lost or failed carries the towers that serve with the champion', () => {
  const champion = release('a', { twoTower: won });
  assert.deepEqual(carriedFromChampion({ twoTower: won }, champion), {}, 'its own won: nothing carried');
  assert.deepEqual(carriedFromChampion({ twoTower: lost }, undefined), {}, 'no champion: nothing to carry');
  assert.deepEqual(carriedFromChampion({ twoTower: lost }, release('z', { twoTower: lost })), {});
  assert.equal(carriedFromChampion({ twoTower: lost }, champion).twoTower?.from, 'a');
  const carrying = release('b', {
    twoTower: lost,
    carried: carriedFromChampion({ twoTower: lost }, champion),
  });
  const next = carriedFromChampion({ twoTower: lost }, carrying);
  assert.equal(next.twoTower?.from, 'a', 'carried through a champion that carried them itself');
  assert.match(next.twoTower?.reason ?? '', /champion's serve \(b, which carried them from a\)/);
});

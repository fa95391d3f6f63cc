import assert from 'node:assert/strict';
import { it } from 'node:test';
import { UserSpace } from '../../services/lifecycle/item-fold-in';
import { Ials } from '../../services/models/ials';
import {
  buildInteractionMatrix,
  indexInteractions,
  usersOfItem,
} from '../../services/models/interaction-matrix';
import { mulberry32 } from '../../services/models/random';
import type { Interaction } from '../../services/models/types';

it('folds an item in against the user factors: close to the vector training gave it, empty without known users', async () => {
  const random = mulberry32(11);
  const log: Interaction[] = [];
  for (let g = 0; g < 3; g++)
    for (let u = 0; u < 40; u++)
      for (let i = 0; i < 30; i++)
        if (random() < 0.5) log.push({ user: `g${g}u${u}`, item: `g${g}i${i}`, timestamp: u * 100 + i });
  const { users, items } = indexInteractions(log);
  const matrix = buildInteractionMatrix(log, users, items);
  const params = { factors: 8, lambda: 1, alpha: 10, epochs: 10, cgSteps: 8 };
  const model = new Ials(params);
  await model.fit(matrix);
  const space = new UserSpace(
    { ids: users.ids, dims: params.factors, vectors: model.userVectors },
    { alpha: params.alpha, lambda: params.lambda },
  );
  for (const item of [0, 17, 55]) {
    const positives = Array.from(usersOfItem(matrix, item), (u) => users.ids[u]);
    const { vector, users: used } = space.foldIn([...positives, 'someone-new', positives[0]]);
    assert.equal(used, positives.length, 'unknown and repeated users do not count');
    const trained = model.itemVectors.subarray(item * params.factors, (item + 1) * params.factors);
    let dot = 0;
    let a = 0;
    let b = 0;
    for (let f = 0; f < params.factors; f++) {
      dot += (vector as Float32Array)[f] * trained[f];
      a += (vector as Float32Array)[f] ** 2;
      b += trained[f] ** 2;
    }
    assert.ok(dot / Math.sqrt(a * b) > 0.99, `item ${item}: cosine ${dot / Math.sqrt(a * b)}`);
  }
  assert.deepEqual(space.foldIn(['nobody', 'no-one']), { vector: undefined, users: 0 });
});

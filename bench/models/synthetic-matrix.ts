/**
 * The seeded synthetic interaction matrix the iALS benchmarks share, built from the generator's
 * columns directly: millions of interaction objects with string ids would measure the garbage
 * collector, not the solver.
 */
import { syntheticInteractionBatches, syntheticItemId, syntheticUserId } from '../../services/data/synthetic';
import {
  IdIndex,
  type InteractionMatrix,
  matrixFromPairKeys,
} from '../../services/models/interaction-matrix';

export interface SyntheticMatrixSize {
  interactions: number;
  items: number;
  users: number;
}

/** Repeated (user, item) events collapse to one pair, as in the training snapshot. */
export function syntheticMatrix({ interactions, items, users }: SyntheticMatrixSize): InteractionMatrix {
  const keys = new Float64Array(interactions);
  let n = 0;
  for (const batch of syntheticInteractionBatches({
    seed: 42,
    interactionCount: interactions,
    itemCount: items,
    userCount: users,
  })) {
    for (let k = 0; k < batch.users.length; k++) keys[n++] = batch.users[k] * items + batch.items[k];
  }
  keys.sort();
  let nnz = 0;
  for (let i = 0; i < n; i++) if (i === 0 || keys[i] !== keys[i - 1]) keys[nnz++] = keys[i];
  return matrixFromPairKeys(
    keys.slice(0, nnz),
    new Float64Array(nnz),
    IdIndex.of(Array.from({ length: users }, (_, u) => syntheticUserId(u))),
    IdIndex.of(Array.from({ length: items }, (_, i) => syntheticItemId(i))),
  );
}

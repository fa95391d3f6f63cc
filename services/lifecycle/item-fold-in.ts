/**
 * Fold-in of one item against a release's frozen user factors: the row solve the next item
 * half-step of iALS would make for it, with the users who interacted with it as positives. It
 * puts an item that has earned enough interactions into the collaborative space without a
 * retrain.
 */
import { cgScratch, conjugateGradient, gramian } from '../models/ials-solver';

export interface UserFactors {
  ids: readonly string[];
  dims: number;
  vectors: Float32Array;
}

export interface FoldInParams {
  alpha: number;
  lambda: number;
}

export interface ItemFoldIn {
  /** undefined when none of the users is in the release (nobody to fold against). */
  vector: Float32Array | undefined;
  /** The users that took part: those the release knows. */
  users: number;
}

/** The release's users, indexed once, with the Gramian every item solve shares. */
export class UserSpace {
  private readonly rowOf: Map<string, number>;
  private readonly gram: Float64Array;

  constructor(
    private readonly users: UserFactors,
    private readonly params: FoldInParams,
  ) {
    this.rowOf = new Map(users.ids.map((id, row) => [id, row]));
    this.gram = gramian(users.vectors, users.ids.length, users.dims);
  }

  foldIn(userIds: Iterable<string>): ItemFoldIn {
    const positives = [...new Set(userIds)].flatMap((id) => {
      const row = this.rowOf.get(id);
      return row === undefined ? [] : [row];
    });
    if (positives.length === 0) return { vector: undefined, users: 0 };
    const k = this.users.dims;
    const x = new Float64Array(k);
    const system = { fixed: this.users.vectors, gram: this.gram, k, ...this.params };
    // From zero, CG on a k-dimensional system converges in at most k steps.
    conjugateGradient(system, positives, x, k, cgScratch(k));
    return { vector: Float32Array.from(x), users: positives.length };
  }
}

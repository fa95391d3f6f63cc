/**
 * A personal vector for a user the release does not know, from the few items of their session:
 * the user row solve of iALS against the release's frozen item factors (what the next training
 * would compute for them), so a new user's second request is already in the champion's space,
 * with no retrain. The item Gramian is computed once per release state and kept with it.
 */

import { cgScratch, conjugateGradient, gramian } from '../models/ials-solver';
import type { HotState } from '../serving/hot-state';
import { trainingConfigSchema } from '../training/config';

export interface FoldInParams {
  alpha: number;
  lambda: number;
}

interface ItemSpace {
  gram: Float64Array;
  params: FoldInParams;
}

const spaces = new WeakMap<HotState, ItemSpace>();
const declared = new WeakMap<HotState, FoldInParams>();

/** The release's own α and λ (from its training config); a state without them uses the defaults. */
export function declareFoldIn(state: HotState, params: FoldInParams): void {
  declared.set(state, params);
  spaces.delete(state);
}

/** α and λ of a release, from the training config kept in its metadata. */
export function foldInParamsOf(metadata: Record<string, unknown>): FoldInParams | undefined {
  const parsed = trainingConfigSchema.safeParse((metadata as { config?: unknown }).config);
  return parsed.success ? { alpha: parsed.data.ials.alpha, lambda: parsed.data.ials.lambda } : undefined;
}

function spaceOf(state: HotState): ItemSpace {
  let space = spaces.get(state);
  if (space === undefined) {
    const { ials } = trainingConfigSchema.parse({});
    const { ids, dims, vectors } = state.items;
    space = {
      gram: gramian(vectors, ids.length, dims),
      params: declared.get(state) ?? { alpha: ials.alpha, lambda: ials.lambda },
    };
    spaces.set(state, space);
  }
  return space;
}

/** `items` are indexes into the release's items; an empty session has no vector. */
export function foldInSession(state: HotState, items: readonly number[]): Float32Array | undefined {
  if (items.length === 0) return undefined;
  const k = state.items.dims;
  const { gram, params } = spaceOf(state);
  const x = new Float64Array(k);
  // From zero, CG on a k-dimensional system converges in at most k steps.
  conjugateGradient({ fixed: state.items.vectors, gram, k, ...params }, items, x, k, cgScratch(k));
  return Float32Array.from(x);
}

/**
 * A new user's query vector: the session's fold-in moved toward the mean item vector (what most
 * users like) by `prior` times its own length, since a fold-in of one to five items alone
 * overfits them.
 */
export function newUserVector(
  state: HotState,
  items: readonly number[],
  prior: number,
): Float32Array | undefined {
  const folded = foldInSession(state, items);
  if (folded === undefined) return undefined;
  const scale = (prior * Math.hypot(...folded)) / (Math.hypot(...state.coldStart) || 1);
  return Float32Array.from(folded, (x, d) => x + scale * state.coldStart[d]);
}

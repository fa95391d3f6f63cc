/**
 * The blend's weights for a request: a user the release does not know, once their session has
 * items, is ranked mostly by popularity sharpened by that session (generators/new-user-estimate.ts),
 * since the fold-in of a few items alone ranks worse than popularity; everyone else by the
 * variant's weights.
 */
import type { GeneratorName, RequestContext } from './candidates';

export function blendWeights({ params, user, recent }: RequestContext): Record<GeneratorName, number> {
  if (user !== undefined || recent.length === 0) return params.weights;
  return { ...params.weights, ...params.newUserWeights };
}

/**
 * Ranking: a weighted blend of the generators' normalised scores, best first. An item proposed
 * by several generators collects from each, with the weights of the request's user
 * (new-user-weights.ts). The release's learned ranker replaces this stage where it won its gate
 * and knows the user (rank/onnx-ranker.ts).
 */
import type { Candidate, RequestContext } from './candidates';
import { blendWeights } from './new-user-weights';

export function blendScores(context: RequestContext, candidates: Candidate[]): Candidate[] {
  const weights = blendWeights(context);
  for (const c of candidates) {
    let score = 0;
    for (const [generator, s] of c.sources) score += weights[generator] * s;
    c.score = score;
  }
  return candidates.sort((a, b) => b.score - a.score || a.item - b.item);
}

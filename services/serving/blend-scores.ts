/**
 * Ranking: a weighted blend of the generators' normalised scores, best first. An item proposed
 * by several generators collects from each. The release's learned ranker replaces this stage
 * where it won its gate and knows the user (rank/onnx-ranker.ts).
 */
import type { Candidate, RequestContext } from './candidates';

export function blendScores({ params }: RequestContext, candidates: Candidate[]): Candidate[] {
  for (const c of candidates) {
    let score = 0;
    for (const [generator, s] of c.sources) score += params.weights[generator] * s;
    c.score = score;
  }
  return candidates.sort((a, b) => b.score - a.score || a.item - b.item);
}

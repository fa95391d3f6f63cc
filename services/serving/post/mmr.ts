/**
 * MMR diversity (Carbonell & Goldstein 1998): the head of the list is rebuilt greedily, each
 * next item maximising λ × relevance − (1 − λ) × its highest cosine similarity to the items
 * already chosen. Only the head that can reach the slate is reordered.
 */
import type { Candidate, RequestContext } from '../candidates';

export function diversify({ state, params, request }: RequestContext, ranked: Candidate[]): Candidate[] {
  const lambda = params.mmrLambda;
  const head = Math.min(ranked.length, Math.max(3 * request.k, params.categoryCapWindow));
  if (lambda >= 1 || head < 3) return ranked;
  const { unit, dims } = state.items;
  const pool = ranked.slice(0, head);
  const top = pool[0].score;
  const bottom = pool[head - 1].score;
  const relevance = (c: Candidate) => (top > bottom ? (c.score - bottom) / (top - bottom) : 1);
  const maxSimilarity = new Float32Array(head).fill(-1);
  const chosen: Candidate[] = [];
  const taken = new Uint8Array(head);
  for (let step = 0; step < head; step++) {
    let best = -1;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < head; i++) {
      if (taken[i]) continue;
      const value = lambda * relevance(pool[i]) - (1 - lambda) * (step === 0 ? 0 : maxSimilarity[i]);
      if (value > bestValue) {
        bestValue = value;
        best = i;
      }
    }
    taken[best] = 1;
    chosen.push(pool[best]);
    const base = pool[best].item * dims;
    for (let i = 0; i < head; i++) {
      if (taken[i]) continue;
      const other = pool[i].item * dims;
      let dot = 0;
      for (let d = 0; d < dims; d++) dot += unit[base + d] * unit[other + d];
      if (dot > maxSimilarity[i]) maxSimilarity[i] = dot;
    }
  }
  return [...chosen, ...ranked.slice(head)];
}

/**
 * The session signal: neighbours of the items the user just interacted with. Newer items weigh
 * more, and an item near several of them collects each one's similarity, so the answer moves
 * toward what the session is about, not toward what is popular.
 */
import type { ProposedList, RequestContext } from '../candidates';

/** The weight of the n-th most recent item is decay^n. */
const recencyDecay = 0.75;

export function sessionNeighbours({ state, recent, params }: RequestContext): ProposedList {
  const scores = new Map<number, number>();
  recent.forEach((item, position) => {
    const weight = recencyDecay ** position;
    const { items, scores: similarity } = state.neighbours.of(item);
    for (let n = 0; n < items.length; n++)
      if (similarity[n] > 0) scores.set(items[n], (scores.get(items[n]) ?? 0) + weight * similarity[n]);
  });
  return normalisedTop('session', scores, params.perGenerator);
}

/** The `limit` best of a score map, scaled so the best is 1. */
export function normalisedTop(
  generator: ProposedList['generator'],
  scores: Map<number, number>,
  limit: number,
): ProposedList {
  const ranked = [...scores].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, limit);
  const best = ranked[0]?.[1] ?? 1;
  return {
    generator,
    items: Int32Array.from(ranked, ([item]) => item),
    scores: Float32Array.from(ranked, ([, score]) => score / best),
  };
}

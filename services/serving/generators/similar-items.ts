/** `item_detail`: items like the one on the page, by the release's item-item neighbours. */
import type { ProposedList, RequestContext } from '../candidates';

export function similarItems({ state, contextItem, params }: RequestContext): ProposedList {
  if (contextItem === undefined) return { generator: 'similar', items: [], scores: [] };
  const { items, scores } = state.neighbours.of(contextItem);
  const n = Math.min(items.length, params.perGenerator);
  const best = scores[0] > 0 ? scores[0] : 1;
  return {
    generator: 'similar',
    items: items.subarray(0, n),
    scores: Float32Array.from(scores.subarray(0, n), (s) => Math.max(0, s / best)),
  };
}

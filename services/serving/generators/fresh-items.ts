/** New items (cold start): the newest available items of the catalog that the release can place. */
import { type ProposedList, type RequestContext, rankScores } from '../candidates';

export function freshItems({ state, params }: RequestContext): ProposedList {
  const items: number[] = [];
  for (const id of state.catalog.freshItems(params.freshDays)) {
    const item = state.items.index.get(id);
    if (item !== undefined) items.push(item);
    if (items.length === params.perGenerator) break;
  }
  return { generator: 'fresh', items, scores: rankScores(items.length) };
}

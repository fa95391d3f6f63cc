/**
 * Retrieval by the release's vectors: the user's vector, moved toward the session's items (the
 * real-time signal), is the kNN query; a new user gets a vector folded in from the session's
 * items and pulled toward the mean item vector (services/realtime/session-fold-in.ts), or with no
 * session the mean item vector. The vectors come from memory, never from a round trip.
 */
import type { RecommendStrategy } from '../../../schemas/recommend';
import { newUserVector } from '../../realtime/session-fold-in';
import { type ProposedList, type RequestContext, rankScores } from '../candidates';
import type { FallbackSearch } from '../item-search';

export interface AnnProposal {
  list: ProposedList;
  strategy: RecommendStrategy;
  degraded?: string;
}

export function queryVector({ state, user, recent, params }: RequestContext): {
  vector: Float32Array;
  strategy: RecommendStrategy;
} {
  const { dims, vectors } = state.items;
  let session: Float32Array | undefined;
  if (recent.length > 0) {
    session = new Float32Array(dims);
    for (const item of recent)
      for (let d = 0; d < dims; d++) session[d] += vectors[item * dims + d] / recent.length;
  }
  if (user === undefined)
    return session === undefined
      ? { vector: state.coldStart, strategy: 'cold-start' }
      : { vector: newUserVector(state, recent, params.newUserPrior) ?? session, strategy: 'session' };
  const own = state.users.vectors.subarray(user * dims, (user + 1) * dims);
  if (session === undefined) return { vector: own, strategy: 'user' };
  const w = params.sessionWeight;
  return { vector: Float32Array.from(own, (x, d) => (1 - w) * x + w * session[d]), strategy: 'user+session' };
}

/** What must not come back from the search: history, session, exclusions, unavailable items. */
export function excludedIds({ state, user, request, recent }: RequestContext): Set<string> {
  const excluded = new Set<string>([
    ...request.recentItems,
    ...recent.map((item) => state.items.ids[item]),
    ...request.exclude,
    ...state.catalog.unavailable,
  ]);
  if (request.itemId !== undefined) excluded.add(request.itemId);
  if (user !== undefined) for (const item of state.users.seen[user]) excluded.add(state.items.ids[item]);
  return excluded;
}

export async function annCandidates(
  context: RequestContext,
  search: FallbackSearch,
  budgetMs: number,
): Promise<AnnProposal> {
  const { vector, strategy } = queryVector(context);
  const outcome = await search.nearest(
    context.state,
    { vector, k: context.params.annCandidates, excluded: excludedIds(context) },
    budgetMs,
  );
  const items: number[] = [];
  for (const id of outcome.ids) {
    const item = context.state.items.index.get(id);
    if (item !== undefined) items.push(item);
  }
  return {
    list: { generator: 'ann', items, scores: rankScores(items.length) },
    strategy,
    degraded: outcome.degraded,
  };
}

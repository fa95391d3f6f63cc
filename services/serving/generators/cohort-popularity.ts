/**
 * What the user's cohort (age band × gender × occupation) interacts with most; overall popularity
 * without one. For a user the release does not know, once their session has items, that
 * popularity pooled with what those items' users did (new-user-estimate.ts).
 */
import { type ProposedList, type RequestContext, rankScores } from '../candidates';
import { newUserEstimate } from './new-user-estimate';

export function cohortPopularity({ state, request, params, user, recent }: RequestContext): ProposedList {
  const cohort = state.catalog.cohortOfUser(request.userId);
  if (user === undefined && recent.length > 0) {
    const { items, rates } = newUserEstimate(
      state,
      cohort,
      recent,
      params.newUserShrinkage,
      params.perGenerator,
    );
    const best = rates[0] > 0 ? rates[0] : 1;
    return { generator: 'popularity', items, scores: Float32Array.from(rates, (r) => r / best) };
  }
  const ranked =
    (cohort === undefined ? undefined : state.popularity.byCohort.get(cohort)) ?? state.popularity.global;
  const items = ranked.subarray(0, params.perGenerator);
  return { generator: 'popularity', items, scores: rankScores(items.length) };
}

/** What the user's cohort (age band × gender × occupation) interacts with most; overall popularity without one. */
import { type ProposedList, type RequestContext, rankScores } from '../candidates';

export function cohortPopularity({ state, request, params }: RequestContext): ProposedList {
  const cohort = state.catalog.cohortOfUser(request.userId);
  const ranked =
    (cohort === undefined ? undefined : state.popularity.byCohort.get(cohort)) ?? state.popularity.global;
  const items = ranked.subarray(0, params.perGenerator);
  return { generator: 'popularity', items, scores: rankScores(items.length) };
}

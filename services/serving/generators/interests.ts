/**
 * Steering by declared and observed interests: the most popular items (in the user's cohort, or
 * overall) of the categories the user chose at onboarding, named in the request, or interacted
 * with most in this session. Gives a user nobody knows yet an answer about what they asked for.
 */
import { type ProposedList, type RequestContext, rankScores } from '../candidates';

export function interestItems({ state, request, params, interests }: RequestContext): ProposedList {
  if (interests.length === 0) return { generator: 'interests', items: [], scores: [] };
  const wanted = new Set(interests);
  const cohort = state.catalog.cohortOfUser(request.userId);
  const ranked =
    (cohort === undefined ? undefined : state.popularity.byCohort.get(cohort)) ?? state.popularity.global;
  const items: number[] = [];
  for (const item of ranked) {
    if (state.catalog.categoriesOf(state.items.ids[item]).some((c) => wanted.has(c))) items.push(item);
    if (items.length === params.perGenerator) break;
  }
  return { generator: 'interests', items, scores: rankScores(items.length) };
}

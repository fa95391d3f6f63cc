/** Drops the request's `exclude` list and the context item of `item_detail`. */
import { type Candidate, idOf, type RequestContext } from '../candidates';

export function notExcluded({ state, request }: RequestContext): (c: Candidate) => boolean {
  const excluded = new Set(request.exclude);
  if (request.itemId !== undefined) excluded.add(request.itemId);
  return (c) => !excluded.has(idOf(state, c));
}

/** Drops blocked and retired items, as the live catalog knows them now (not as of the release). */
import { type Candidate, idOf, type RequestContext } from '../candidates';

export function available({ state }: RequestContext): (c: Candidate) => boolean {
  return (c) => state.catalog.isAvailable(idOf(state, c));
}

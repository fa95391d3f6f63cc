/** Drops what the user already has: the training history and this session's items. */
import type { Candidate, RequestContext } from '../candidates';

export function notSeen({
  state,
  user,
  recent,
  recentUnreleased,
}: RequestContext): (c: Candidate) => boolean {
  const history = user === undefined ? undefined : state.users.seen[user];
  const session = new Set(recent);
  return (c) =>
    c.itemId === undefined
      ? !session.has(c.item) && (history === undefined || !contains(history, c.item))
      : recentUnreleased?.has(c.itemId) !== true;
}

/** `sorted` is ascending. */
function contains(sorted: Int32Array, value: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] === value) return true;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

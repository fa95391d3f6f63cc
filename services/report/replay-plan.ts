/**
 * The demo's replay of the temporal protocol's test period as live traffic, and its click model.
 *
 * Traffic: a seeded sample of the test users; each of a user's held-out interactions, up to a cap,
 * becomes one homepage request at that interaction's time; all requests in time order.
 *
 * Clicks (a position-based model): an item shown at rank r is examined with probability
 * r^−0.7 (1 at the top, 0.2 at rank 10) and, if examined, clicked with its attraction: 0.9
 * for an item in the user's held-out interactions not clicked yet, 0.02 for any other item (the
 * clicks a replay of logged data cannot know about). A new item copies the attraction of the
 * catalog item it is a re-release of. A click on a held-out item is followed by its held-out
 * rating, so a rating of 4 or more is a conversion.
 */

import { mulberry32, shuffleInPlace } from '../models/random';
import type { Interaction } from '../models/types';

export interface ReplayRequest {
  userId: string;
  /** The held-out interaction's time, epoch ms: the order of the replay. */
  at: number;
}

export interface ReplayPlan {
  requests: ReplayRequest[];
  users: string[];
  /** Per sampled user, the held-out items and their ratings. */
  heldOut: Map<string, Map<string, number>>;
}

export function planReplay(
  test: readonly Interaction[],
  users: number,
  requestsPerUser: number,
  seed: number,
): ReplayPlan {
  const byUser = new Map<string, Interaction[]>();
  for (const i of test) byUser.set(i.user, [...(byUser.get(i.user) ?? []), i]);
  const sample = shuffleInPlace([...byUser.keys()].sort(), mulberry32(seed)).slice(0, users);
  const heldOut = new Map<string, Map<string, number>>();
  const requests: ReplayRequest[] = [];
  for (const user of sample) {
    const history = (byUser.get(user) ?? []).sort((a, b) => a.timestamp - b.timestamp);
    heldOut.set(user, new Map(history.map((i) => [i.item, i.rating ?? 0])));
    for (const i of history.slice(0, requestsPerUser)) requests.push({ userId: user, at: i.timestamp });
  }
  requests.sort((a, b) => a.at - b.at || a.userId.localeCompare(b.userId));
  return { requests, users: sample, heldOut };
}

export const clickModel = {
  examinationExponent: 0.7,
  relevantAttraction: 0.9,
  otherAttraction: 0.02,
};

export const examination = (rank: number) => rank ** -clickModel.examinationExponent;

export interface SimulatedClick {
  itemId: string;
  rank: number;
  /** The held-out rating when the item was held out for this user. */
  rating?: number;
}

/**
 * The clicks on one served slate. `clicked` (the user's held-out items already clicked) is updated;
 * `reReleaseOf` maps a new item to the catalog item whose attraction it copies.
 */
export function simulateClicks(
  slate: readonly string[],
  heldOut: ReadonlyMap<string, number>,
  clicked: Set<string>,
  reReleaseOf: ReadonlyMap<string, string>,
  random: () => number,
): SimulatedClick[] {
  const clicks: SimulatedClick[] = [];
  for (const [index, itemId] of slate.entries()) {
    const source = reReleaseOf.get(itemId) ?? itemId;
    const relevant = heldOut.has(source) && !clicked.has(itemId);
    const attraction = relevant ? clickModel.relevantAttraction : clickModel.otherAttraction;
    if (random() >= examination(index + 1) * attraction) continue;
    if (relevant) clicked.add(itemId);
    clicks.push({ itemId, rank: index + 1, rating: relevant ? heldOut.get(source) : undefined });
  }
  return clicks;
}

import { mulberry32, shuffleInPlace } from '../models/random';
import type { Interaction } from '../models/types';

export type Protocol = 'stratified' | 'temporal';
export const PROTOCOLS: readonly Protocol[] = ['stratified', 'temporal'];

export interface Split {
  train: Interaction[];
  test: Interaction[];
}

/** Held-out share per user for each protocol. */
export const TEST_FRACTION: Readonly<Record<Protocol, number>> = { stratified: 0.25, temporal: 0.2 };

/**
 * Per-user holdout. Every user keeps at least one training interaction so the
 * models can score them; a user with a single interaction is train-only.
 */
export function splitInteractions(
  protocol: Protocol,
  interactions: readonly Interaction[],
  seed: number,
  testFraction = TEST_FRACTION[protocol],
): Split {
  const random = mulberry32(seed);
  const train: Interaction[] = [];
  const test: Interaction[] = [];
  for (const history of historiesByUser(interactions)) {
    const ordered =
      protocol === 'temporal' ? history.sort(chronological) : shuffleInPlace(history.sort(byItem), random);
    const nTest = Math.min(history.length - 1, Math.round(history.length * testFraction));
    const cut = history.length - nTest;
    for (let n = 0; n < ordered.length; n++) (n < cut ? train : test).push(ordered[n]);
  }
  return { train, test };
}

/**
 * Carves the tuning split out of TRAIN with the same protocol, so the
 * hyperparameters are chosen without the test interactions ever being read.
 * The seed is derived so validation users are not shuffled exactly like test.
 */
export function validationSplit(protocol: Protocol, train: readonly Interaction[], seed: number): Split {
  return splitInteractions(protocol, train, (seed ^ 0x5bd1e995) >>> 0);
}

/**
 * Groups by user, in id order so the PRNG stream (and so the split) does not
 * depend on input order, and keeps one interaction per (user, item): a repeated
 * pair could otherwise straddle train and test and leak the answer. The
 * earliest occurrence is kept because that is when the item entered the history.
 */
function historiesByUser(interactions: readonly Interaction[]): Interaction[][] {
  const byUser = new Map<string, Map<string, Interaction>>();
  for (const x of interactions) {
    let items = byUser.get(x.user);
    if (!items) {
      items = new Map();
      byUser.set(x.user, items);
    }
    const kept = items.get(x.item);
    if (!kept || x.timestamp < kept.timestamp) items.set(x.item, x);
  }
  return [...byUser.keys()].sort().map((user) => [...byUser.get(user)!.values()]);
}

function byItem(a: Interaction, b: Interaction): number {
  return a.item < b.item ? -1 : a.item > b.item ? 1 : 0;
}

/** Same-second ties are broken by item id so the temporal cut does not depend on input order. */
function chronological(a: Interaction, b: Interaction): number {
  return a.timestamp - b.timestamp || byItem(a, b);
}

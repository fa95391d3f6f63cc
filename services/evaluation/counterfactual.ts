/**
 * Counterfactual (off-policy) evaluation: the click-through rate a candidate policy would have
 * had, estimated from impressions logged under another policy with their propensities.
 *
 * The unit is one shown item (a slot of a slate): its weight is the candidate's probability of
 * putting that item at that position over the logging policy's, so the estimate is the expected
 * clicks per shown item under the candidate, which is what a measured CTR is. Slots are not
 * independent within a slate, so the bootstrap resamples whole slates.
 *
 * IPS is unbiased when every slot the candidate can fill was possible under the logging policy;
 * clipping the weights at M trades a little bias for much less variance. Self-normalised IPS
 * divides by the sum of the weights instead of the count: biased in small samples but with far
 * lower variance, and invariant to a constant scale of the candidate's probabilities.
 */
import type { Impression, Interaction } from '../../schemas/events';
import { mulberry32 } from '../models/random';

export interface LoggedSlot {
  reward: number;
  /** P(this item at this position | logging policy), > 0. */
  loggingPropensity: number;
  /** P(this item at this position | candidate policy), 0..1. */
  targetProbability: number;
}

export type LoggedSlate = readonly LoggedSlot[];

export interface OffPolicyOptions {
  /** Weights above this are clipped to it. */
  clip: number;
  bootstrapSamples: number;
  /** Two-sided confidence of the intervals, e.g. 0.95. */
  confidence: number;
  seed: number;
}

export const defaultOffPolicyOptions: OffPolicyOptions = {
  clip: 100,
  bootstrapSamples: 1000,
  confidence: 0.95,
  seed: 1,
};

export interface Interval {
  value: number;
  low: number;
  high: number;
}

export interface OffPolicyEstimate {
  ips: Interval;
  snips: Interval;
  /** The logging policy's own CTR over the same slots (what a naive offline metric reports). */
  logged: Interval;
  slates: number;
  slots: number;
  /** Share of slots whose weight was clipped. */
  clippedShare: number;
  /** (Σw)² / Σw²: how many slots the estimate is effectively worth. */
  effectiveSlots: number;
}

export class OffPolicyInputError extends Error {
  override name = 'OffPolicyInputError';
}

interface Sums {
  weightedReward: number;
  weight: number;
  reward: number;
  slots: number;
}

function sumsOf(slate: LoggedSlate, clip: number): Sums {
  const s: Sums = { weightedReward: 0, weight: 0, reward: 0, slots: slate.length };
  for (const slot of slate) {
    const w = Math.min(slot.targetProbability / slot.loggingPropensity, clip);
    s.weightedReward += w * slot.reward;
    s.weight += w;
    s.reward += slot.reward;
  }
  return s;
}

function estimatesOf(total: Sums): { ips: number; snips: number; logged: number } {
  return {
    ips: total.slots === 0 ? 0 : total.weightedReward / total.slots,
    snips: total.weight === 0 ? 0 : total.weightedReward / total.weight,
    logged: total.slots === 0 ? 0 : total.reward / total.slots,
  };
}

function validate(slates: readonly LoggedSlate[], options: OffPolicyOptions): void {
  if (!(options.clip > 0)) throw new OffPolicyInputError(`clip must be positive, got ${options.clip}`);
  if (!Number.isInteger(options.bootstrapSamples) || options.bootstrapSamples < 1)
    throw new OffPolicyInputError(
      `bootstrapSamples must be a positive integer, got ${options.bootstrapSamples}`,
    );
  if (!(options.confidence > 0 && options.confidence < 1))
    throw new OffPolicyInputError(`confidence must be in (0, 1), got ${options.confidence}`);
  for (const [i, slate] of slates.entries())
    for (const slot of slate) {
      if (!(slot.loggingPropensity > 0 && slot.loggingPropensity <= 1))
        throw new OffPolicyInputError(
          `slate ${i}: logging propensity ${slot.loggingPropensity} not in (0, 1]`,
        );
      if (!(slot.targetProbability >= 0 && slot.targetProbability <= 1))
        throw new OffPolicyInputError(
          `slate ${i}: target probability ${slot.targetProbability} not in [0, 1]`,
        );
      if (!Number.isFinite(slot.reward)) throw new OffPolicyInputError(`slate ${i}: reward is not finite`);
    }
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

/** IPS, SNIPS and the logging policy's CTR, each with a percentile bootstrap interval over slates. */
export function estimatePolicyValue(
  slates: readonly LoggedSlate[],
  options: OffPolicyOptions = defaultOffPolicyOptions,
): OffPolicyEstimate {
  validate(slates, options);
  const perSlate = slates.map((s) => sumsOf(s, options.clip));
  const add = (into: Sums, s: Sums) => {
    into.weightedReward += s.weightedReward;
    into.weight += s.weight;
    into.reward += s.reward;
    into.slots += s.slots;
  };
  const total: Sums = { weightedReward: 0, weight: 0, reward: 0, slots: 0 };
  for (const s of perSlate) add(total, s);

  const random = mulberry32(options.seed);
  const draws = {
    ips: new Float64Array(options.bootstrapSamples),
    snips: new Float64Array(options.bootstrapSamples),
    logged: new Float64Array(options.bootstrapSamples),
  };
  for (let b = 0; b < options.bootstrapSamples; b++) {
    const sample: Sums = { weightedReward: 0, weight: 0, reward: 0, slots: 0 };
    for (let i = 0; i < perSlate.length; i++) add(sample, perSlate[Math.floor(random() * perSlate.length)]);
    const e = estimatesOf(sample);
    draws.ips[b] = e.ips;
    draws.snips[b] = e.snips;
    draws.logged[b] = e.logged;
  }
  const tail = (1 - options.confidence) / 2;
  const point = estimatesOf(total);
  const interval = (value: number, d: Float64Array): Interval => {
    d.sort();
    return { value, low: quantile(d, tail), high: quantile(d, 1 - tail) };
  };

  let clipped = 0;
  let squares = 0;
  for (const slate of slates)
    for (const slot of slate) {
      const raw = slot.targetProbability / slot.loggingPropensity;
      if (raw > options.clip) clipped++;
      squares += Math.min(raw, options.clip) ** 2;
    }
  return {
    ips: interval(point.ips, draws.ips),
    snips: interval(point.snips, draws.snips),
    logged: interval(point.logged, draws.logged),
    slates: slates.length,
    slots: total.slots,
    clippedShare: total.slots === 0 ? 0 : clipped / total.slots,
    effectiveSlots: squares === 0 ? 0 : total.weight ** 2 / squares,
  };
}

/** The candidate's probability of each (item, position) for one logged slate; absent means 0. */
export type TargetPolicy = (logged: Impression) => ReadonlyMap<string, number> | undefined;

export const slotKey = (itemId: string, position: number) => `${position}\u0000${itemId}`;

/**
 * The logged slates of the impressions the candidate has probabilities for, rewarded by the clicks
 * that name their slate. Impressions without a target (no counterfactual answer) are left out.
 */
export function loggedSlatesOf(
  impressions: Iterable<Impression>,
  interactions: Iterable<Interaction>,
  target: TargetPolicy,
): LoggedSlate[] {
  const clicked = new Set<string>();
  for (const i of interactions)
    if (i.type === 'click' && i.slateId !== undefined) clicked.add(`${i.slateId}\u0000${i.itemId}`);
  const slates: LoggedSlate[] = [];
  for (const impression of impressions) {
    const probabilities = target(impression);
    if (probabilities === undefined) continue;
    slates.push(
      impression.items.map((item) => ({
        reward: clicked.has(`${impression.slateId}\u0000${item.itemId}`) ? 1 : 0,
        loggingPropensity: item.propensity,
        targetProbability: probabilities.get(slotKey(item.itemId, item.position)) ?? 0,
      })),
    );
  }
  return slates;
}

/**
 * A candidate known through the slates it answered for the same requests (shadow traffic): each
 * logged slate is paired with the candidate's slate for the same user, in order, and the
 * candidate's probability of a slot is the propensity it gave that item at that position.
 */
export function shadowTargetPolicy(shadow: Iterable<Impression>): TargetPolicy {
  const queues = new Map<string, Impression[]>();
  for (const s of shadow) {
    const queue = queues.get(s.userId) ?? [];
    queue.push(s);
    queues.set(s.userId, queue);
  }
  const next = new Map<string, number>();
  return (logged) => {
    const queue = queues.get(logged.userId);
    const at = next.get(logged.userId) ?? 0;
    const paired = queue?.[at];
    if (paired === undefined) return undefined;
    next.set(logged.userId, at + 1);
    return new Map(paired.items.map((i) => [slotKey(i.itemId, i.position), i.propensity]));
  };
}

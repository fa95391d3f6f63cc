import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Impression, Interaction } from '../../schemas/events';
import {
  estimatePolicyValue,
  type LoggedSlate,
  loggedSlatesOf,
  OffPolicyInputError,
  shadowTargetPolicy,
} from '../../services/evaluation/counterfactual';
import { mulberry32 } from '../../services/models/random';

/**
 * A slate of `positions` slots, each filled independently from a distribution over `items`; a
 * shown item is clicked with P(examined at position) × P(attractive). The candidate's true CTR
 * per slot is known in closed form.
 */
function simulation(seed: number, slates: number) {
  const items = 30;
  const positions = 3;
  const random = mulberry32(seed);
  const attractive = Array.from({ length: items }, (_, i) => 0.05 + (0.5 * i) / items);
  const examined = [1, 0.7, 0.5];
  const normalise = (v: number[]) => v.map((x) => x / v.reduce((a, b) => a + b, 0));
  // The logging policy favours the unattractive items; the candidate the attractive ones.
  const logging = normalise(attractive.map((_, i) => 1 + (items - i)));
  const target = normalise(attractive.map((_, i) => 1 + i * i));
  const draw = (p: number[]) => {
    let u = random();
    for (let i = 0; i < p.length; i++) {
      u -= p[i];
      if (u < 0) return i;
    }
    return p.length - 1;
  };
  let truth = 0;
  for (let k = 0; k < positions; k++)
    for (let i = 0; i < items; i++) truth += (target[i] * examined[k] * attractive[i]) / positions;
  const logged: LoggedSlate[] = Array.from({ length: slates }, () =>
    examined.map((e) => {
      const item = draw(logging);
      return {
        reward: random() < e * attractive[item] ? 1 : 0,
        loggingPropensity: logging[item],
        targetProbability: target[item],
      };
    }),
  );
  return { truth, logged };
}

describe('counterfactual evaluation (IPS, SNIPS)', () => {
  it('recovers a simulated candidate policy within the intervals, where the logged CTR does not', () => {
    for (const seed of [1, 2, 3]) {
      const { truth, logged } = simulation(seed, 20_000);
      const e = estimatePolicyValue(logged, { clip: 1000, bootstrapSamples: 400, confidence: 0.95, seed });
      for (const [name, interval] of [
        ['ips', e.ips],
        ['snips', e.snips],
      ] as const) {
        assert.ok(
          interval.low <= truth && truth <= interval.high,
          `seed ${seed}: ${name} [${interval.low}, ${interval.high}] misses the truth ${truth}`,
        );
        assert.ok(interval.high - interval.low < truth * 0.2, `${name} interval too wide to mean anything`);
      }
      assert.ok(e.logged.high < truth, 'the logging policy is worse: its own CTR is biased low');
      assert.equal(e.slots, 60_000);
      assert.equal(e.clippedShare, 0);
    }
  });

  it('clipping the weights bounds them and reports the share clipped', () => {
    const { logged } = simulation(4, 2_000);
    const clipped = estimatePolicyValue(logged, {
      clip: 1.5,
      bootstrapSamples: 50,
      confidence: 0.9,
      seed: 1,
    });
    assert.ok(clipped.clippedShare > 0 && clipped.clippedShare < 1);
    assert.ok(
      clipped.ips.value <=
        estimatePolicyValue(logged, { clip: 1e9, bootstrapSamples: 50, confidence: 0.9, seed: 1 }).ips.value,
    );
  });

  it('refuses propensities outside (0, 1] with a clear error', () => {
    assert.throws(
      () => estimatePolicyValue([[{ reward: 1, loggingPropensity: 0, targetProbability: 0.5 }]]),
      (error: unknown) => error instanceof OffPolicyInputError && /logging propensity 0/.test(error.message),
    );
  });

  it('joins logged impressions, their clicks and a shadow candidate by user and order', () => {
    const impression = (slateId: string, userId: string, items: [string, number][]): Impression => ({
      slateId,
      userId,
      surface: 'homepage',
      servedAt: Date.UTC(2020, 0, 1),
      variant: 'v',
      modelVersions: {},
      items: items.map(([itemId, propensity], position) => ({ itemId, position, score: 1, propensity })),
    });
    const logged = [
      impression('s1', 'u', [
        ['a', 0.5],
        ['b', 0.5],
      ]),
      impression('s2', 'u', [['c', 1]]),
    ];
    const shadow = [
      impression('x1', 'u', [
        ['a', 0.25],
        ['c', 1],
      ]),
      impression('x2', 'u', [['c', 0.5]]),
    ];
    const click: Interaction = {
      type: 'click',
      eventId: 'e1',
      userId: 'u',
      itemId: 'a',
      occurredAt: Date.UTC(2020, 0, 1),
      surface: 'homepage',
      slateId: 's1',
    };
    const slates = loggedSlatesOf(logged, [click], shadowTargetPolicy(shadow));
    assert.deepEqual(slates, [
      [
        { reward: 1, loggingPropensity: 0.5, targetProbability: 0.25 },
        { reward: 0, loggingPropensity: 0.5, targetProbability: 0 },
      ],
      [{ reward: 0, loggingPropensity: 1, targetProbability: 0.5 }],
    ]);
  });
});

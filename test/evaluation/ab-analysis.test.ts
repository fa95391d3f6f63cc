import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Impression, Interaction } from '../../schemas/events';
import { analyseAb, normalCdf, twoProportionTest, wilson } from '../../services/evaluation/ab-analysis';
import { mulberry32 } from '../../services/models/random';

/** Users split between two variants; each shown item is clicked with its variant's rate. */
function experiment(seed: number, rates: Record<string, number>, users = 2_000) {
  const random = mulberry32(seed);
  const impressions: Impression[] = [];
  const interactions: Interaction[] = [];
  const names = Object.keys(rates);
  for (let u = 0; u < users; u++) {
    const variant = names[u % names.length];
    for (let s = 0; s < 5; s++) {
      const slateId = `s-${u}-${s}`;
      const items = Array.from({ length: 10 }, (_, position) => ({
        itemId: `i${(u * 7 + s * 3 + position) % 500}`,
        position,
        score: 1,
        propensity: 0.95,
      }));
      impressions.push({
        slateId,
        userId: `u${u}`,
        surface: 'homepage',
        servedAt: Date.UTC(2020, 0, 1),
        variant,
        modelVersions: {},
        items,
      });
      for (const item of items)
        if (random() < rates[variant]) {
          const base = {
            eventId: `${slateId}-${item.itemId}`,
            userId: `u${u}`,
            itemId: item.itemId,
            occurredAt: Date.UTC(2020, 0, 1),
            surface: 'homepage' as const,
            slateId,
          };
          interactions.push({ ...base, type: 'click' });
          if (random() < 0.3)
            interactions.push({ ...base, eventId: `${base.eventId}-r`, type: 'rating', value: 5 });
        }
    }
  }
  return { impressions, interactions };
}

describe('A/B analysis', () => {
  it('detects a simulated 20% lift in CTR and names the winner', () => {
    const { impressions, interactions } = experiment(1, { control: 0.05, treatment: 0.06 });
    const report = analyseAb(impressions, interactions, {
      control: 'control',
      alpha: 0.05,
      confidence: 0.95,
    });
    const [c] = report.comparisons;
    assert.equal(c.variant, 'treatment');
    assert.ok(c.significant, `p = ${c.pValue}`);
    assert.ok(c.lift > 0.1 && c.lift < 0.3, `lift ${c.lift}`);
    assert.match(c.verdict, /^treatment wins/);
    const treatment = report.variants.find((v) => v.variant === 'treatment');
    assert.ok(treatment !== undefined && treatment.ctr.low <= 0.06 && 0.06 <= treatment.ctr.high);
    assert.equal(treatment.impressions, 1000 * 5 * 10);
    assert.ok(treatment.conversion.rate > 0);
  });

  it('finds no difference in A/A splits at about the nominal rate', () => {
    let falsePositives = 0;
    const runs = 40;
    for (let seed = 1; seed <= runs; seed++) {
      const { impressions, interactions } = experiment(seed, { a: 0.05, b: 0.05 }, 600);
      const [c] = analyseAb(impressions, interactions, {
        control: 'a',
        alpha: 0.05,
        confidence: 0.95,
      }).comparisons;
      if (c.significant) falsePositives++;
    }
    assert.ok(falsePositives <= 6, `${falsePositives} of ${runs} A/A splits called significant`);
    const { impressions, interactions } = experiment(99, { a: 0.05, b: 0.05 });
    assert.match(
      analyseAb(impressions, interactions, { control: 'a', alpha: 0.05, confidence: 0.95 }).comparisons[0]
        .verdict,
      /^no significant/,
    );
  });

  it('counts clicks on unknown slates apart and a repeated click once', () => {
    const { impressions, interactions } = experiment(3, { a: 0.1 }, 10);
    const click = interactions.find((i) => i.type === 'click');
    assert.ok(click !== undefined);
    const stray: Interaction = { ...click, eventId: 'stray', slateId: 'nowhere' };
    const report = analyseAb(impressions, [...interactions, click, stray]);
    assert.equal(report.unmatched, 1);
    assert.equal(report.variants[0].clicks, interactions.filter((i) => i.type === 'click').length);
  });

  it('has the textbook normal and Wilson values', () => {
    assert.ok(Math.abs(normalCdf(1.959964) - 0.975) < 1e-6);
    const w = wilson(10, 100);
    assert.ok(Math.abs(w.low - 0.0552) < 1e-3 && Math.abs(w.high - 0.1744) < 1e-3, JSON.stringify(w));
    assert.deepEqual(twoProportionTest({ successes: 0, trials: 10 }, { successes: 0, trials: 10 }), {
      z: 0,
      pValue: 1,
    });
  });
});

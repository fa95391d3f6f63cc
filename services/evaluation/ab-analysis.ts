/**
 * A/B analysis from the event log: per variant, the impressions (items shown), the CTR (clicks
 * per item shown) and the conversion rate (slates with a conversion per slate shown), each with
 * a Wilson interval, and every other variant against the control by a two-proportion z-test.
 *
 * A click or conversion counts for a variant when it names a slate that variant served. A
 * conversion is a purchase, an add-to-cart or a rating of 4 or more tied to a slate. The z-test
 * treats items shown as independent trials; clicks within one user's slates are correlated, so
 * with few users per variant its p-value is optimistic.
 */
import type { Impression, Interaction } from '../../schemas/events';

export interface Proportion {
  successes: number;
  trials: number;
  rate: number;
  low: number;
  high: number;
}

export interface VariantReport {
  variant: string;
  users: number;
  slates: number;
  impressions: number;
  clicks: number;
  ctr: Proportion;
  conversion: Proportion;
}

export interface Comparison {
  variant: string;
  against: string;
  /** Relative change of the CTR, treatment / control − 1. */
  lift: number;
  z: number;
  pValue: number;
  significant: boolean;
  verdict: string;
}

export interface AbReport {
  variants: VariantReport[];
  control: string;
  comparisons: Comparison[];
  alpha: number;
  /** Clicks and conversions naming a slate no impression of the log has. */
  unmatched: number;
}

/** The standard normal CDF (Abramowitz–Stegun 7.1.26, error < 1.5e-7). */
export function normalCdf(x: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(x)) / Math.SQRT2);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(x * x) / 2);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** The normal quantile for the two-sided intervals, by bisection on normalCdf. */
export function normalQuantile(p: number): number {
  let low = -10;
  let high = 10;
  for (let i = 0; i < 100; i++) {
    const mid = (low + high) / 2;
    if (normalCdf(mid) < p) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

/** Wilson score interval: sound at small counts and rates near 0, unlike the normal approximation. */
export function wilson(successes: number, trials: number, confidence = 0.95): Proportion {
  if (trials === 0) return { successes, trials, rate: 0, low: 0, high: 0 };
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p = successes / trials;
  const denominator = 1 + (z * z) / trials;
  const centre = (p + (z * z) / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + (z * z) / (4 * trials * trials))) / denominator;
  return { successes, trials, rate: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** Two-sided two-proportion z-test with the pooled rate. */
export function twoProportionTest(
  a: { successes: number; trials: number },
  b: { successes: number; trials: number },
): { z: number; pValue: number } {
  const pooled = (a.successes + b.successes) / (a.trials + b.trials);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials));
  if (!(se > 0)) return { z: 0, pValue: 1 };
  const z = (b.successes / b.trials - a.successes / a.trials) / se;
  return { z, pValue: 2 * (1 - normalCdf(Math.abs(z))) };
}

const isConversion = (i: Interaction) =>
  i.type === 'purchase' || i.type === 'add_to_cart' || (i.type === 'rating' && i.value >= 4);

export interface AbOptions {
  /** The variant the others are compared with; when omitted, 'control' if served, else the one with most slates. */
  control?: string;
  alpha: number;
  confidence: number;
}

export function analyseAb(
  impressions: Iterable<Impression>,
  interactions: Iterable<Interaction>,
  options: AbOptions = { alpha: 0.05, confidence: 0.95 },
): AbReport {
  const variantOfSlate = new Map<string, string>();
  const tally = new Map<
    string,
    { users: Set<string>; slates: number; shown: number; clicks: number; converted: Set<string> }
  >();
  for (const impression of impressions) {
    variantOfSlate.set(impression.slateId, impression.variant);
    const t = tally.get(impression.variant) ?? {
      users: new Set(),
      slates: 0,
      shown: 0,
      clicks: 0,
      converted: new Set(),
    };
    t.users.add(impression.userId);
    t.slates++;
    t.shown += impression.items.length;
    tally.set(impression.variant, t);
  }
  let unmatched = 0;
  const clicked = new Set<string>();
  for (const i of interactions) {
    if (i.slateId === undefined || !(i.type === 'click' || isConversion(i))) continue;
    const variant = variantOfSlate.get(i.slateId);
    const t = variant === undefined ? undefined : tally.get(variant);
    if (t === undefined) {
      unmatched++;
      continue;
    }
    // A click redelivered or repeated on the same slot counts once.
    const slot = `${i.slateId}\u0000${i.itemId}`;
    if (i.type === 'click' && !clicked.has(slot)) {
      clicked.add(slot);
      t.clicks++;
    }
    if (isConversion(i)) t.converted.add(i.slateId);
  }
  const variants: VariantReport[] = [...tally.entries()]
    .map(([variant, t]) => ({
      variant,
      users: t.users.size,
      slates: t.slates,
      impressions: t.shown,
      clicks: t.clicks,
      ctr: wilson(t.clicks, t.shown, options.confidence),
      conversion: wilson(t.converted.size, t.slates, options.confidence),
    }))
    .sort((a, b) => a.variant.localeCompare(b.variant));
  const control =
    options.control ??
    variants.find((v) => v.variant === 'control')?.variant ??
    [...variants].sort((a, b) => b.slates - a.slates || a.variant.localeCompare(b.variant))[0]?.variant ??
    '';
  const base = variants.find((v) => v.variant === control);
  const comparisons: Comparison[] =
    base === undefined
      ? []
      : variants
          .filter((v) => v.variant !== control)
          .map((v) => {
            const { z, pValue } = twoProportionTest(
              { successes: base.clicks, trials: base.impressions },
              { successes: v.clicks, trials: v.impressions },
            );
            const lift = base.ctr.rate === 0 ? 0 : v.ctr.rate / base.ctr.rate - 1;
            const significant = pValue < options.alpha;
            const verdict = !significant
              ? `no significant difference in CTR (p = ${pValue.toFixed(3)})`
              : `${lift > 0 ? v.variant : control} wins: CTR ${(lift * 100).toFixed(1)}% vs ${control} (p = ${pValue.toExponential(1)})`;
            return { variant: v.variant, against: control, lift, z, pValue, significant, verdict };
          });
  return { variants, control, comparisons, alpha: options.alpha, unmatched };
}

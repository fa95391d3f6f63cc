/** `cairn ab report`: the A/B test read from the impression and interaction topics. */
import type { Impression } from '../schemas/events';
import { type AbReport, analyseAb } from '../services/evaluation/ab-analysis';
import { readLoggedEvents } from '../services/evaluation/logged-events';
import { kafkaClient } from '../services/events/kafka';
import { topicNames } from '../services/events/topics';
import type { Command } from './commands';
import { numberOption } from './evaluate-policy';

const percent = (x: number) => `${(x * 100).toFixed(2)}%`;

export function formatAbReport(report: AbReport): string[] {
  const lines = [
    'variant          users   slates  impressions  clicks  CTR [95% CI]                 conversion [95% CI]',
  ];
  for (const v of report.variants)
    lines.push(
      `${v.variant.padEnd(14)}${String(v.users).padStart(8)}${String(v.slates).padStart(9)}${String(v.impressions).padStart(13)}${String(v.clicks).padStart(8)}  ` +
        `${`${percent(v.ctr.rate)} [${percent(v.ctr.low)}, ${percent(v.ctr.high)}]`.padEnd(29)}${percent(v.conversion.rate)} [${percent(v.conversion.low)}, ${percent(v.conversion.high)}]`,
    );
  for (const c of report.comparisons)
    lines.push(
      `${c.variant} vs ${c.against}: lift ${(c.lift * 100).toFixed(1)}%, z = ${c.z.toFixed(2)}: ${c.verdict}`,
    );
  if (report.unmatched > 0) lines.push(`(${report.unmatched} clicks or conversions name no logged slate)`);
  return lines;
}

/**
 * Per variant, the model versions its slates came from, as the impressions recorded them: a
 * variant pinned to a release keeps one, the others change with each promotion.
 */
export function formatModelVersions(impressions: readonly Impression[]): string[] {
  const byVariant = new Map<string, Map<string, number>>();
  for (const i of impressions) {
    const versions = Object.entries(i.modelVersions)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([model, version]) => `${model} ${version}`)
      .join(', ');
    const counts = byVariant.get(i.variant) ?? new Map<string, number>();
    counts.set(versions, (counts.get(versions) ?? 0) + 1);
    byVariant.set(i.variant, counts);
  }
  return [
    'models per variant (slates)',
    ...[...byVariant]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(
        ([variant, counts]) =>
          `${variant.padEnd(14)}${[...counts].map(([versions, n]) => `${versions} (${n})`).join('; ')}`,
      ),
  ];
}

export const abCommand: Command = {
  name: 'ab',
  summary: 'report: per-variant impressions, CTR, conversion and the significance test',
  help: `cairn ab report [--namespace PREFIX] [--control VARIANT] [--alpha A]

Reads cairn.impressions.v1 and cairn.interactions.v1 of the namespace from the beginning and
prints, per A/B variant, its users, slates, items shown, clicks, CTR (clicks per item shown) and
conversion rate (slates with a purchase, add-to-cart or rating ≥ 4), with 95% Wilson intervals;
then each variant against the control by a two-sided two-proportion z-test on CTR, and the
model versions each variant's slates came from.
  --namespace PREFIX  the topics' prefix (default CAIRN_PREFIX)
  --control VARIANT   the baseline (default: 'control' if served, else the variant with most slates)
  --alpha A           significance level (default 0.05)`,
  options: { namespace: { type: 'string' }, control: { type: 'string' }, alpha: { type: 'string' } },
  async run({ settings, positionals, values }) {
    const alpha = numberOption(values.alpha, 'alpha', 0.05, 1e-9, 0.5);
    if (positionals[0] !== 'report' || typeof alpha === 'string') {
      console.error(`cairn ab: ${typeof alpha === 'string' ? alpha : 'expected report'}`);
      return 2;
    }
    const prefix = typeof values.namespace === 'string' ? values.namespace : settings.prefix;
    const topics = topicNames(prefix);
    const events = await readLoggedEvents(kafkaClient(settings, 'cairn-ab-report'), topics, prefix);
    const control = typeof values.control === 'string' ? values.control : undefined;
    const report = analyseAb(events.impressions, events.interactions, { control, alpha, confidence: 0.95 });
    if (report.variants.length === 0) {
      console.error(`cairn ab: no impressions in ${topics.impressions}`);
      return 1;
    }
    for (const line of [...formatAbReport(report), ...formatModelVersions(events.impressions)])
      console.log(line);
    return 0;
  },
};

/** `cairn evaluate-policy`: IPS and SNIPS of a candidate from the impressions another policy logged. */
import {
  defaultOffPolicyOptions,
  estimatePolicyValue,
  loggedSlatesOf,
  type OffPolicyEstimate,
  shadowTargetPolicy,
} from '../services/evaluation/counterfactual';
import { readLoggedEvents } from '../services/evaluation/logged-events';
import { kafkaClient } from '../services/events/kafka';
import { topicNames } from '../services/events/topics';
import type { Command } from './commands';

const percent = (x: number) => `${(x * 100).toFixed(2)}%`;

export function formatOffPolicy(e: OffPolicyEstimate): string[] {
  const row = (name: string, i: OffPolicyEstimate['ips']) =>
    `${name.padEnd(22)}${percent(i.value).padStart(8)}  [${percent(i.low)}, ${percent(i.high)}]`;
  return [
    `${e.slates} logged slates, ${e.slots} items shown; weights clipped on ${percent(e.clippedShare)} of them; effective sample ${Math.round(e.effectiveSlots)} items`,
    row('IPS CTR', e.ips),
    row('SNIPS CTR', e.snips),
    row('logging policy CTR', e.logged),
  ];
}

/** Reads `--name` as a number in [min, max]; a string is the refusal. */
export function numberOption(
  raw: unknown,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number | string {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  return typeof raw === 'string' && Number.isFinite(n) && n >= min && n <= max
    ? n
    : `--${name} must be a number in [${min}, ${max}], got '${String(raw)}'`;
}

export const evaluatePolicyCommand: Command = {
  name: 'evaluate-policy',
  summary: 'IPS/SNIPS estimate of a candidate policy from logged impressions and clicks',
  help: `cairn evaluate-policy --logged VARIANT --shadow TOPIC [--since TIME] [--namespace PREFIX] [--clip M] [--bootstrap N]

Estimates the CTR a candidate policy would have had on the traffic another policy served, from
the impressions (with their propensities) and clicks in the namespace's cairn.impressions.v1 and
cairn.interactions.v1. The candidate is known by its shadow slates: its answers to the same
requests, logged to TOPIC and never shown (the demo writes them); each logged slate is paired with
the same user's shadow slate in order, and the candidate's probability of an item at a position is
the propensity it gave it there.
  --logged VARIANT     the variant whose impressions are the logged data
  --shadow TOPIC       the candidate's shadow impressions
  --since TIME         only slates served at or after TIME (ISO 8601): one replay of several
  --namespace PREFIX   the topics' prefix (default CAIRN_PREFIX)
  --clip M             clip importance weights at M (default ${defaultOffPolicyOptions.clip})
  --bootstrap N        bootstrap resamples of slates for the 95% intervals (default ${defaultOffPolicyOptions.bootstrapSamples})`,
  options: {
    logged: { type: 'string' },
    shadow: { type: 'string' },
    since: { type: 'string' },
    namespace: { type: 'string' },
    clip: { type: 'string' },
    bootstrap: { type: 'string' },
  },
  async run({ settings, values }) {
    const clip = numberOption(values.clip, 'clip', defaultOffPolicyOptions.clip, 1, 1e9);
    const bootstrap = numberOption(
      values.bootstrap,
      'bootstrap',
      defaultOffPolicyOptions.bootstrapSamples,
      1,
      100_000,
    );
    const { logged, shadow } = values;
    if (typeof clip === 'string' || typeof bootstrap === 'string') {
      console.error(`cairn evaluate-policy: ${typeof clip === 'string' ? clip : bootstrap}`);
      return 2;
    }
    if (typeof logged !== 'string' || typeof shadow !== 'string') {
      console.error('cairn evaluate-policy: --logged VARIANT and --shadow TOPIC are required');
      return 2;
    }
    const since = typeof values.since === 'string' ? Date.parse(values.since) : 0;
    if (Number.isNaN(since)) {
      console.error(`cairn evaluate-policy: --since must be an ISO 8601 time, got '${String(values.since)}'`);
      return 2;
    }
    const prefix = typeof values.namespace === 'string' ? values.namespace : settings.prefix;
    const topics = topicNames(prefix);
    const events = await readLoggedEvents(
      kafkaClient(settings, 'cairn-evaluate-policy'),
      { impressions: topics.impressions, interactions: topics.interactions, shadow },
      prefix,
    );
    const slates = loggedSlatesOf(
      events.impressions.filter((i) => i.variant === logged && i.servedAt >= since),
      events.interactions,
      shadowTargetPolicy(events.shadow.filter((s) => s.servedAt >= since)),
    );
    if (slates.length === 0) {
      console.error(
        `cairn evaluate-policy: no impression of variant '${logged}' has a shadow slate in ${shadow}`,
      );
      return 1;
    }
    const estimate = estimatePolicyValue(slates, {
      ...defaultOffPolicyOptions,
      clip,
      bootstrapSamples: Math.round(bootstrap),
    });
    for (const line of formatOffPolicy(estimate)) console.log(line);
    if (events.invalid > 0) console.log(`(${events.invalid} messages failing their schema skipped)`);
    return 0;
  },
};

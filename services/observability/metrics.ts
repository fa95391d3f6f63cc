/**
 * Every metric family Cairn exports (README, "Metrics and logs", lists them), in one registry
 * per process. Labels take only bounded values: a surface, a variant, an error code, a stage, a
 * reason class, a topic and partition; never an id or free text.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { RecommendErrorCode, RecommendSlate } from '../../schemas/recommend';

export const metricsRegistry = new Registry();
// process_* and nodejs_*: CPU, memory, event-loop lag, GC, handles.
collectDefaultMetrics({ register: metricsRegistry });
const registers = [metricsRegistry];

const requests = new Counter({
  name: 'cairn_recommend_requests_total',
  help: 'Recommend requests answered, by surface and A/B variant (surface "unknown" and variant "none" for a request refused before they were known)',
  labelNames: ['surface', 'variant'] as const,
  registers,
});

const errors = new Counter({
  name: 'cairn_recommend_errors_total',
  help: 'Recommend requests refused, by the error code of the reply',
  labelNames: ['code'] as const,
  registers,
});

const stageSeconds = new Histogram({
  name: 'cairn_recommend_stage_seconds',
  help: 'Time per pipeline stage of a served slate (stage "total": the whole pipeline)',
  labelNames: ['stage'] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers,
});

const degraded = new Counter({
  name: 'cairn_recommend_degraded_total',
  help: 'Slates served degraded: a part of the pipeline fell back (search slow or down)',
  registers,
});

/** Requests being answered now, by every replica of this process. */
export const recommendInFlight = new Gauge({
  name: 'cairn_recommend_in_flight',
  help: 'Recommend requests being answered now',
  registers,
});

const explorationSpent = new Counter({
  name: 'cairn_exploration_budget_spent_total',
  help: 'Impressions spent from exploration budgets (one per budget-slot item shown)',
  registers,
});

const storeEvents = new Counter({
  name: 'cairn_store_events_total',
  help: 'Events the store projector read, by outcome (applied, duplicate, rejected)',
  labelNames: ['outcome'] as const,
  registers,
});

const deadLetters = new Counter({
  name: 'cairn_deadletters_total',
  help: 'Events sent to the dead-letter topic, by reason class',
  labelNames: ['reason'] as const,
  registers,
});

/** Each sets consumerLag from Kafka when scraped (see consumer-lag.ts); none of them rejects. */
const lagProbes = new Set<() => Promise<void>>();

export const consumerLag = new Gauge({
  name: 'cairn_consumer_lag',
  help: "Messages between a consumer group's committed offset and the end of the partition",
  labelNames: ['group', 'topic', 'partition'] as const,
  registers,
  async collect() {
    await Promise.all([...lagProbes].map((probe) => probe()));
  },
});

/** Registers a probe run at every scrape; the returned function removes it. */
export function addLagProbe(probe: () => Promise<void>): () => void {
  lagProbes.add(probe);
  return () => lagProbes.delete(probe);
}

export function recordSlate(slate: RecommendSlate): void {
  requests.inc({ surface: slate.surface, variant: slate.variant });
  for (const [stage, ms] of Object.entries(slate.timings)) stageSeconds.observe({ stage }, ms / 1000);
  if (slate.degraded) degraded.inc();
}

export function recordRefusal(code: RecommendErrorCode, surface = 'unknown'): void {
  requests.inc({ surface, variant: 'none' });
  errors.inc({ code });
}

export function recordExplorationImpression(): void {
  explorationSpent.inc();
}

export function recordStoreEvents(outcome: 'applied' | 'duplicate' | 'rejected', count: number): void {
  if (count > 0) storeEvents.inc({ outcome }, count);
}

export function recordDeadLetters(reasonClass: string, count: number): void {
  deadLetters.inc({ reason: reasonClass }, count);
}

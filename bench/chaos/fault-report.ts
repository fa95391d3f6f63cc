/**
 * One row of the chaos table per fault, built from a load's samples and the fault's timeline,
 * and the markdown table itself.
 */

import type { EventAudit } from './event-audit';
import { latencyQuantile, phaseCounts, reasons, type Sample, windowOf } from './measures';

/** What every fault is given: its load's rate, how long it runs before and after the fault, a log. */
export interface LoadOptions {
  rate: number;
  leadMs: number;
  afterMs: number;
  log: (line: string) => void;
}

export interface Timeline {
  /** On the performance clock: the fault injected, the server healthy again, the load stopped. */
  injectedAt: number;
  recoveredAt: number;
  stoppedAt: number;
  /** "After" is the requests sent from this long after recovery to the end. */
  settleMs: number;
}

export interface FaultReport {
  fault: string;
  /** The load during the fault, in words with its rate and count. */
  load: string;
  /** Undefined for a fault whose load produces no events (serving requests). */
  events?: EventAudit;
  /**
   * From the fault to recovery: the server healthy again, or the interrupted work running again
   * on a replacement worker.
   */
  recoveryMs: number;
  /**
   * Whether a load of requests or events was measured: the error and degraded windows, the p99s
   * and "after" come from it. A fault on a workflow alone has only its outcome (events).
   */
  loaded: boolean;
  /** First failed request's send to the last failed request's end. */
  errorWindowMs: number;
  failed: number;
  degradedWindowMs: number;
  degraded: number;
  p99DuringMs: number;
  p99AfterMs: number;
  /** Requests sent in the "after" phase, and how many of them failed or were degraded. */
  after: { sent: number; failed: number; degraded: number };
  notes: string[];
}

export function measuredReport(
  fault: string,
  load: string,
  samples: readonly Sample[],
  timeline: Timeline,
  events?: EventAudit,
  notes: string[] = [],
): FaultReport {
  const failed = windowOf(samples, 'failed');
  const degraded = windowOf(samples, 'degraded');
  const afterFrom = timeline.recoveredAt + timeline.settleMs;
  const before = phaseCounts(samples, Number.NEGATIVE_INFINITY, timeline.injectedAt);
  const afterPhase = phaseCounts(samples, afterFrom, timeline.stoppedAt);
  const counts = (p: typeof before) => `${p.failed} failed and ${p.degraded} degraded of ${p.sent}`;
  const why = (phase: string, from: number, to: number, outcome: 'failed' | 'degraded') => {
    const text = reasons(
      samples.filter((s) => s.sentAt >= from && s.sentAt < to),
      outcome,
    );
    return text === '' ? [] : [`${outcome} ${phase}, by reason: ${text}`];
  };
  return {
    fault,
    load,
    events,
    recoveryMs: timeline.recoveredAt - timeline.injectedAt,
    loaded: true,
    errorWindowMs: failed.ms,
    failed: failed.count,
    degradedWindowMs: degraded.ms,
    degraded: degraded.count,
    p99DuringMs: latencyQuantile(samples, 0.99, timeline.injectedAt, timeline.recoveredAt),
    p99AfterMs: latencyQuantile(samples, 0.99, afterFrom, timeline.stoppedAt),
    after: afterPhase,
    notes: [
      ...notes,
      `before the fault ${counts(before)}; after recovery ${counts(afterPhase)}`,
      ...why('overall', Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 'failed'),
      ...why('overall', Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 'degraded'),
      ...why('after recovery', afterFrom, timeline.stoppedAt, 'degraded'),
    ],
  };
}

/** A fault on a workflow with no load beside it: what it cost is its outcome and its recovery. */
export function workflowReport(
  fault: string,
  load: string,
  events: EventAudit,
  recoveryMs: number,
  notes: string[],
): FaultReport {
  return {
    fault,
    load,
    events,
    recoveryMs,
    loaded: false,
    errorWindowMs: Number.NaN,
    failed: 0,
    degradedWindowMs: Number.NaN,
    degraded: 0,
    p99DuringMs: Number.NaN,
    p99AfterMs: Number.NaN,
    after: { sent: 0, failed: 0, degraded: 0 },
    notes,
  };
}

const seconds = (ms: number) => (ms === 0 ? '0' : `${(ms / 1000).toFixed(1)} s`);
const millis = (ms: number) => (Number.isNaN(ms) ? 'n/a' : `${ms.toFixed(0)} ms`);

export function chaosTable(reports: readonly FaultReport[]): string {
  const lines = [
    '| fault | load during it | events lost | duplicates | time to recover | error window (failed) | degraded window (degraded) | p99 during | p99 after | after: failed / degraded / sent |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of reports)
    lines.push(
      `| ${[
        r.fault,
        r.load,
        r.events === undefined ? '— (no events)' : `${r.events.lost} of ${r.events.acknowledged}`,
        r.events === undefined ? '—' : String(r.events.duplicated + r.events.unexpected),
        seconds(r.recoveryMs),
        ...(r.loaded
          ? [
              `${seconds(r.errorWindowMs)} (${r.failed})`,
              `${seconds(r.degradedWindowMs)} (${r.degraded})`,
              millis(r.p99DuringMs),
              millis(r.p99AfterMs),
              `${r.after.failed} / ${r.after.degraded} / ${r.after.sent}`,
            ]
          : ['— (no load)', '—', '—', '—', '—']),
      ].join(' | ')} |`,
    );
  const notes = reports.flatMap((r) => r.notes.map((n) => `- ${r.fault}: ${n}`));
  return [...lines, ...(notes.length === 0 ? [] : ['', ...notes])].join('\n');
}

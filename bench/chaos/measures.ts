/**
 * What a fault is judged by, from the samples a load recorded: the error window (the first failed
 * request's send to the last failed request's end), the degraded window, and latency percentiles
 * of the requests sent in a phase (before, during or after the fault).
 */

/** `failed`: an error answer, a time-out, or (for produced events) a send that had to be retried. */
export type Outcome = 'ok' | 'degraded' | 'failed';

export interface Sample {
  /** When the request was due, in ms on the performance clock. */
  sentAt: number;
  /** From due to answered (or to given up, for a time-out). */
  latencyMs: number;
  outcome: Outcome;
  /** Why a request failed or was degraded: an error code, a time-out, a retried send, a search failure. */
  reason?: string;
  /** The slate the caller received, for the impression audit. */
  slateId?: string;
}

export interface Window {
  count: number;
  /** Milliseconds from the first such request's send to the last one's end; 0 when none. */
  ms: number;
}

export function windowOf(samples: readonly Sample[], outcome: Outcome): Window {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  let count = 0;
  for (const s of samples) {
    if (s.outcome !== outcome) continue;
    count++;
    first = Math.min(first, s.sentAt);
    last = Math.max(last, s.sentAt + s.latencyMs);
  }
  return { count, ms: count === 0 ? 0 : last - first };
}

/** The q-quantile (0..1) of the latencies of samples sent in [from, to); NaN when there are none. */
export function latencyQuantile(samples: readonly Sample[], q: number, from: number, to: number): number {
  const latencies = samples
    .filter((s) => s.sentAt >= from && s.sentAt < to)
    .map((s) => s.latencyMs)
    .sort((a, b) => a - b);
  if (latencies.length === 0) return Number.NaN;
  return latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)];
}

/** How many samples a phase has, and how many of them failed or were degraded. */
export function phaseCounts(samples: readonly Sample[], from: number, to: number) {
  const phase = samples.filter((s) => s.sentAt >= from && s.sentAt < to);
  const count = (outcome: Outcome) => phase.filter((s) => s.outcome === outcome).length;
  return { sent: phase.length, failed: count('failed'), degraded: count('degraded') };
}

/** Samples of an outcome by reason, most frequent first: "timeout 120, overloaded 3". */
export function reasons(samples: readonly Sample[], outcome: Outcome): string {
  const counts = new Map<string, number>();
  for (const s of samples)
    if (s.outcome === outcome)
      counts.set(s.reason ?? 'unknown', (counts.get(s.reason ?? 'unknown') ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');
}

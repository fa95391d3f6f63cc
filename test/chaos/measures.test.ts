/** The chaos table's figures from samples: windows and quantiles (no servers). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { measuredReport } from '../../bench/chaos/fault-report';
import { latencyQuantile, reasons, type Sample, windowOf } from '../../bench/chaos/measures';

const sample = (sentAt: number, latencyMs: number, outcome: Sample['outcome'], reason?: string): Sample => ({
  sentAt,
  latencyMs,
  outcome,
  reason,
});

test('the error window runs from the first failed send to the last failed answer; none gives 0', () => {
  const samples = [
    sample(0, 5, 'ok'),
    sample(100, 2_000, 'failed', 'timeout'),
    sample(200, 10, 'degraded'),
    sample(900, 300, 'failed', 'no responders'),
    sample(1_000, 5, 'ok'),
  ];
  assert.deepEqual(windowOf(samples, 'failed'), { count: 2, ms: 2_000 });
  assert.deepEqual(windowOf(samples, 'degraded'), { count: 1, ms: 10 });
  assert.deepEqual(windowOf([sample(0, 5, 'ok')], 'failed'), { count: 0, ms: 0 });
  assert.equal(reasons(samples, 'failed'), 'timeout 1, no responders 1');
});

test('p99 is taken over the requests sent in the phase only, and is NaN for an empty phase', () => {
  const samples = Array.from({ length: 200 }, (_, n) => sample(n, n < 100 ? 1 : 1_000 + n, 'ok'));
  assert.equal(latencyQuantile(samples, 0.99, 0, 100), 1);
  assert.equal(latencyQuantile(samples, 0.99, 100, 200), 1_198);
  assert.ok(Number.isNaN(latencyQuantile(samples, 0.99, 500, 600)));
});

test('a report splits the samples into before, during and after the fault', () => {
  const samples = [
    sample(0, 5, 'ok'),
    sample(10, 900, 'failed', 'timeout'),
    sample(20, 40, 'degraded', 'search failed'),
    sample(40, 7, 'ok'),
  ];
  const report = measuredReport('f', 'load', samples, {
    injectedAt: 5,
    recoveredAt: 25,
    stoppedAt: 50,
    settleMs: 10,
  });
  assert.equal(report.p99DuringMs, 900);
  assert.equal(report.p99AfterMs, 7);
  assert.deepEqual(report.after, { sent: 1, failed: 0, degraded: 0 });
  assert.ok(
    report.notes.includes(
      'before the fault 0 failed and 0 degraded of 1; after recovery 0 failed and 0 degraded of 1',
    ),
  );
});

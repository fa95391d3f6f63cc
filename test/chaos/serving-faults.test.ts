/**
 * `cairn chaos --only es-killed,es-frozen,nats-restart` as tests: a `cairn serve` replica under
 * a fixed request rate while its private Elasticsearch or NATS fails.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FaultReport } from '../../bench/chaos/fault-report';
import {
  elasticsearchFrozen,
  elasticsearchKilled,
  natsRestarted,
  servingFaultDefaults,
} from '../../bench/chaos/serving-faults';
import { assertImpressions } from './impressions';

const options = { ...servingFaultDefaults, log: (line: string) => console.log(line) };

/** No answer after recovery is degraded because Elasticsearch failed: the replica went back to it by itself. */
function assertSearchBack(report: FaultReport): void {
  const after = report.notes.find((n) => n.startsWith('degraded after recovery'));
  assert.ok(after === undefined || !after.includes('search failed'), after);
}

function assertRecovered(report: FaultReport): void {
  console.log(JSON.stringify(report));
  assert.ok(report.after.sent > 0, 'requests were sent after recovery');
  assert.equal(report.after.failed, 0, 'every request after recovery is answered within its budget');
  assertImpressions(report);
}

test('Elasticsearch SIGKILLed under serving load: every answer within budget, degraded while it is down, not after', async () => {
  const report = await elasticsearchKilled(options);
  assertRecovered(report);
  assert.equal(report.failed, 0, 'no request failed or timed out');
  assert.ok(report.degraded > 0, 'answers while Elasticsearch was down were marked degraded');
  assertSearchBack(report);
});

test('Elasticsearch frozen (SIGSTOP) under serving load: answers within budget, degraded, and back to normal on SIGCONT', async () => {
  const report = await elasticsearchFrozen(options);
  assertRecovered(report);
  assert.equal(report.failed, 0, 'no request failed or timed out');
  assert.ok(report.degraded > 0, 'answers while Elasticsearch hung were marked degraded');
  assertSearchBack(report);
});

test('NATS SIGKILLed and restarted under serving load: errors only around the restart, then the replica answers again', async () => {
  const report = await natsRestarted({ ...options, downMs: 2_000 });
  assertRecovered(report);
  assert.ok(report.errorWindowMs < 2_000 + 30_000, `error window ${report.errorWindowMs} ms`);
});

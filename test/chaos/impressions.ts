import assert from 'node:assert/strict';
import type { FaultReport } from '../../bench/chaos/fault-report';

/** One impression on the topic per slate the caller received, through the fault too. */
export function assertImpressions(report: FaultReport): void {
  assert.ok(report.events !== undefined && report.events.acknowledged > 0, 'slates were received');
  assert.equal(report.events.lost, 0, 'every received slate has its impression');
  assert.equal(report.events.duplicated, 0, 'no impression twice');
}

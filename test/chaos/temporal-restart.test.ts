/** `cairn chaos --only temporal-restart` as a test: the Temporal server restarted under a serving replica. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { servingFaultDefaults, temporalRestarted } from '../../bench/chaos/serving-faults';
import { assertImpressions } from './impressions';

// The restart times out the serving activity's heartbeat and Temporal starts attempt 2 in the
// same process; the replica of attempt 1 keeps answering until attempt 2 listens (handover in
// activities/serving.ts), so no request fails.
test('Temporal SIGKILLed and restarted under serving load: no request fails and the serving workflow runs on', async () => {
  const report = await temporalRestarted({
    ...servingFaultDefaults,
    downMs: 5_000,
    log: (line) => console.log(line),
  });
  console.log(JSON.stringify(report));
  assert.equal(report.failed, 0, 'requests never needed Temporal');
  assert.ok(report.after.sent > 0);
  assertImpressions(report);
  assert.ok(
    report.notes.some((n) => n.includes('serving workflow is RUNNING')),
    'the serving workflow is still running after the restart',
  );
});

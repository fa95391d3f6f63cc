/** `cairn chaos --only temporal-restart` as a test: the Temporal server restarted under a serving replica. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { servingFaultDefaults, temporalRestarted } from '../../bench/chaos/serving-faults';

// Fails today: the restart times out the serving activity's heartbeat, Temporal retries the
// activity, and the replica is replaced (about 3 s of "no responders" in the first run). Left as
// todo until serving survives a Temporal restart; the figures are in `cairn chaos`'s table.
const todo = 'the serving activity is retried, and its replica replaced, when Temporal restarts';

test(
  'Temporal SIGKILLed and restarted under serving load: no request fails and the serving workflow runs on',
  { todo },
  async () => {
    const report = await temporalRestarted({
      ...servingFaultDefaults,
      downMs: 5_000,
      log: (line) => console.log(line),
    });
    console.log(JSON.stringify(report));
    assert.equal(report.failed, 0, 'requests never needed Temporal');
    assert.ok(report.after.sent > 0);
    assert.ok(
      report.notes.some((n) => n.includes('serving workflow is RUNNING')),
      'the serving workflow is still running after the restart',
    );
  },
);

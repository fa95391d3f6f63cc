import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchSoak, errorShare, formatSoak } from '../../bench/soak';

/**
 * The CI soak: two minutes of the deployed processes under serving load and clicks, a retrain
 * half-way, run on past the two minutes until memory has been judged for two minutes from 30 s
 * after serving answered from the new release. Two minutes cannot tell RSS settling after the
 * swap from a leak, so memory is judged there on the heap after major collections (a leak's
 * growth, which settling does not show); the 30-minute run judges RSS too. The soak bounds its
 * own waits (the retrain gets 20 minutes past the load's end); the test's timeout is the
 * backstop for the setup's first retrain.
 */
test(
  'soak: memory flat after the retrain is served, no click lost, the new release served, errors within the bound',
  {
    timeout: 60 * 60_000,
    // The memory verdict is now judged on the heap after major collections (settling RSS is not
    // judged in two minutes), but no real run has finished since: on the loaded shared machine
    // (load 20-45) the setup's ML-100K retrain alone took over 25 min (ranker step 874 s).
    todo: 'the heap-based memory verdict awaits its first finished 2-minute run',
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

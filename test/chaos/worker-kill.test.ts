/**
 * `cairn chaos --only worker-train,worker-backfill,worker-lifecycle` as tests: the worker killed
 * mid-work and replaced, and each workflow completes exactly once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FaultReport } from '../../bench/chaos/fault-report';
import {
  lifecycleKillDefaults,
  type RetrainStage,
  workerKilledMidLifecycle,
  workerKilledMidRetrain,
} from '../../bench/chaos/worker-kill';

function assertExact(report: FaultReport) {
  console.log(JSON.stringify(report));
  assert.ok(report.events !== undefined);
  assert.ok(report.events.acknowledged > 0);
  assert.equal(report.events.lost, 0, 'nothing lost');
  assert.equal(report.events.duplicated, 0, 'nothing counted or written twice');
  assert.equal(report.events.unexpected, 0, 'one release, one index, one alias swap, one promotion');
}

// Two runs of each (07:20-08:05, load 20-40) killed the worker and resumed the activity on the
// replacement (trainRelease after 60.5 s and 101.6 s, writeVectorBatch after 31.0 s), but the
// retrain then failed its backfill's recall check on the synthetic catalogs of 12,000 and 6,000
// items; the ML-100K-sized catalog now used has not had a run yet.
for (const stage of ['train', 'backfill'] as RetrainStage[])
  test(
    `cairn worker SIGKILLed mid-${stage === 'train' ? 'retrain' : 'backfill'}: the retrain completes once, on the replacement`,
    { todo: 'not yet run to completion with a catalog the recall check passes' },
    async () => {
      const report = await workerKilledMidRetrain(stage, (line) => console.log(line));
      assertExact(report);
      assert.ok(
        report.notes.some((n) => /ran again on the replacement/.test(n)),
        'the interrupted activity ran again on the replacement worker',
      );
    },
  );

test('cairn worker SIGKILLed mid-lifecycle: every count signal counted once, every lifecycle retired once', async () => {
  const report = await workerKilledMidLifecycle({
    ...lifecycleKillDefaults,
    log: (line) => console.log(line),
  });
  assertExact(report);
  assert.equal(report.failed, 0, 'the server accepted every signal while no worker ran');
  assert.ok(
    report.notes.includes(
      `${lifecycleKillDefaults.items} of ${lifecycleKillDefaults.items} lifecycles retired and completed, each once`,
    ),
  );
});

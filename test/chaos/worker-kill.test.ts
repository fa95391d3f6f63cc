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

for (const stage of ['train', 'backfill'] as RetrainStage[])
  test(`cairn worker SIGKILLed mid-${stage === 'train' ? 'retrain' : 'backfill'}: the retrain completes once, on the replacement`, async () => {
    const report = await workerKilledMidRetrain(stage, (line) => console.log(line));
    assertExact(report);
    assert.ok(
      report.notes.some((n) => /ran again on the replacement/.test(n)),
      'the interrupted activity ran again on the replacement worker',
    );
  });

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

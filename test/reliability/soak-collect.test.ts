/**
 * The soak asks an idle child for a full collection with a signal. The real children run Temporal
 * workers, whose runtime shuts down on SIGUSR2: a `cairn worker` started exactly as the soak starts
 * it must collect when asked and go on polling.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { temporal } from '@temporalio/proto';
import { spawnDeployed } from '../../bench/soak';
import { collectionSignal } from '../../bench/soak-collect';
import { exited } from '../../services/config/cairn-process';
import { scratchNamespace } from '../../services/config/scratch-namespace';
import { namespaceOf, temporalClient } from '../../services/orchestration/temporal';

test(
  "a soak's cairn worker does a full collection when asked and keeps polling",
  { timeout: 240_000 },
  async (t) => {
    const settings = await scratchNamespace('soakgc');
    const stateDir = await mkdtemp(join(tmpdir(), 'cairn-soak-collect-'));
    const client = await temporalClient(settings);
    const worker = spawnDeployed(settings, stateDir, 'worker', ['worker']);
    t.after(async () => {
      worker.process.kill('SIGKILL');
      await exited(worker.process);
      await client.connection.close();
      await settings.cleanup();
      await rm(stateDir, { recursive: true, force: true });
    });
    const pollers = async () =>
      (
        await client.workflowService.describeTaskQueue({
          namespace: namespaceOf(settings),
          taskQueue: { name: settings.pipelineTaskQueue },
          taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        })
      ).pollers?.length ?? 0;
    const deadline = Date.now() + 180_000;
    while ((await pollers()) === 0) {
      assert.equal(worker.process.exitCode, null, 'the worker exited while starting');
      assert.ok(Date.now() < deadline, 'the worker did not poll within 180 s');
      await sleep(1_000);
    }
    const before = worker.collections.length;
    for (let n = 0; n < 3; n++) {
      worker.process.kill(collectionSignal);
      await sleep(1_500);
    }
    assert.equal(worker.process.signalCode, null, 'the worker was not stopped by the signal');
    assert.equal(worker.process.exitCode, null, 'the worker did not exit on the signal');
    assert.ok(
      worker.collections.length - before >= 3,
      `${worker.collections.length - before} major collections after 3 requests`,
    );
    assert.ok((await pollers()) > 0, 'the worker still polls');
  },
);

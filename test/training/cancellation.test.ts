/**
 * A cancelled training activity stops its work: the training thread and the row-solver threads it
 * started are terminated, whether the cancellation comes from the workflow or a worker shutdown.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createRetrainActivities } from '../../activities/retrain';
import { runPipelineWorker } from '../../cli/worker';
import { runningThreads } from '../../services/concurrency/threads';
import { exited, spawnCairn } from '../../services/config/cairn-process';
import { type ScratchSettings, scratchNamespace } from '../../services/config/scratch-namespace';
import { retrainInput } from '../../services/orchestration/schedules';
import { temporalClient } from '../../services/orchestration/temporal';
import { openModelRegistry } from '../../services/registry/model-registry';
import { temporalConfig } from '../../temporal.config';
import type { RetrainPhase } from '../../workflows/retrain';
import { fillSyntheticStore } from '../support/synthetic-store';
import { waitFor } from '../support/wait';

const data = { seed: 3, itemCount: 400, userCount: 300, interactionCount: 15_000 };
/** Minutes of training: still running whenever the test cancels it. */
const slow = { ials: { factors: 128, lambda: 5, alpha: 10, epochs: 100, seed: 1 } };

/** The OS threads of a process (Node's worker threads are OS threads). */
const osThreads = () => new Set(readdirSync('/proc/self/task'));

async function startSlowRetrain(settings: ScratchSettings, id: string) {
  const client = await temporalClient(settings);
  const handle = await client.workflow.start('retrain', {
    taskQueue: settings.pipelineTaskQueue,
    workflowId: `${settings.prefix}retrain-${id}`,
    workflowExecutionTimeout: '10 minutes',
    args: [retrainInput(settings, slow)],
  });
  const training = () =>
    waitFor(async () => (await handle.query<RetrainPhase>('phase').catch(() => undefined)) === 'train', {
      what: 'the retrain to reach its training phase',
      timeoutMs: 120_000,
    });
  return { client, handle, training };
}

test('cancelling a retrain terminates its training threads', async () => {
  const settings = await scratchNamespace();
  await fillSyntheticStore(settings, data);
  const { client, handle, training } = await startSlowRetrain(settings, 'cancel');
  try {
    await runPipelineWorker(
      settings,
      (async () => {
        await training();
        await waitFor(() => runningThreads() === 1, { what: 'the training thread', timeoutMs: 60_000 });
        // The training thread and the row solvers it starts once the snapshot is read.
        const before = osThreads();
        const solvers = availableParallelism() - 1;
        const during = await waitFor(
          () => {
            const now = osThreads();
            return now.size >= before.size + solvers && now;
          },
          { what: 'the row-solver threads to start', timeoutMs: 60_000 },
        );
        await handle.cancel();
        await waitFor(() => runningThreads() === 0, {
          what: 'the training thread to be terminated',
          timeoutMs: 30_000,
        });
        await waitFor(
          () => {
            const now = osThreads();
            return [...during].filter((tid) => !now.has(tid)).length >= 1 + solvers;
          },
          { what: 'the training and row-solver OS threads to end', timeoutMs: 30_000 },
        );
      })(),
    );
  } finally {
    await handle.terminate().catch(() => undefined);
    await client.connection.close();
    await settings.cleanup();
  }
});

test('a worker shut down mid-training terminates its training threads and exits within its grace time', async () => {
  const settings = await scratchNamespace();
  await fillSyntheticStore(settings, data);
  const worker = spawnCairn(settings, ['worker']);
  const { client, handle, training } = await startSlowRetrain(settings, 'shutdown');
  try {
    await training();
    // A heartbeat from trainRelease: its training thread is running.
    await waitFor(
      async () =>
        (await handle.describe()).raw.pendingActivities?.some(
          (a) => a.activityType?.name === 'trainRelease' && a.lastHeartbeatTime,
        ),
      { what: 'a heartbeat from the training activity', timeoutMs: 60_000 },
    );
    const signalled = Date.now();
    worker.kill('SIGTERM');
    const grace = 10_000;
    assert.equal(temporalConfig.worker.shutdownGraceTime, '10 seconds');
    await waitFor(() => worker.exitCode !== null || worker.signalCode !== null, {
      what: 'the worker to exit after SIGTERM',
      timeoutMs: grace + 20_000,
    });
    assert.equal(worker.exitCode, 0, `a clean exit after ${Date.now() - signalled} ms`);
  } finally {
    worker.kill('SIGKILL');
    await exited(worker);
    await handle.terminate().catch(() => undefined);
    await client.connection.close();
    await settings.cleanup();
  }
});

test('a training activity cancelled for a heartbeat time-out terminates its training thread', async () => {
  const settings = await scratchNamespace();
  const nats = await connect({ servers: settings.natsUrl });
  try {
    await fillSyntheticStore(settings, data);
    const activities = createRetrainActivities({
      registry: await openModelRegistry(nats, settings.registryBucket),
      storeDir: settings.storeDir,
      snapshotsDir: settings.snapshotsDir,
      snapshotsKeep: 3,
    });
    const snapshot = await activities.snapshotInteractions();
    const environment = new MockActivityEnvironment();
    const training = environment.run(activities.trainRelease, { snapshot: snapshot.id, config: slow });
    let outcome: { error: unknown } | undefined;
    training.then(
      () => {
        outcome = { error: undefined };
      },
      (error: unknown) => {
        outcome = { error };
      },
    );
    await waitFor(() => runningThreads() === 1, { what: 'the training thread', timeoutMs: 60_000 });
    // What the worker does when the server answers a heartbeat with "timed out".
    environment.cancel('TIMED_OUT');
    const { error } = await waitFor(() => outcome, { what: 'the activity to end', timeoutMs: 30_000 });
    assert.ok(error instanceof CancelledFailure, `cancelled, not ${error}`);
    await waitFor(() => runningThreads() === 0, {
      what: 'the training thread to be terminated',
      timeoutMs: 10_000,
    });
  } finally {
    await nats.close();
    await settings.cleanup();
  }
});

/**
 * Permanent failures of the retrain are reported at once, as non-retryable failures with a
 * type, instead of being retried ten times over several minutes.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createRetrainActivities } from '../../activities/retrain';
import { describeFailure } from '../../cli/failure-text';
import { runPipelineWorker } from '../../cli/worker';
import { type ScratchSettings, scratchNamespace } from '../../services/config/scratch-namespace';
import { retrainInput } from '../../services/orchestration/schedules';
import { temporalClient } from '../../services/orchestration/temporal';
import { openModelRegistry } from '../../services/registry/model-registry';
import { InteractionStore } from '../../services/store/interaction-store';
import { temporalConfig } from '../../temporal.config';
import { fillSyntheticStore } from '../support/synthetic-store';

const { failureTypes } = temporalConfig;

/** Runs a retrain that must fail; returns its failure's root cause and how often each activity started. */
async function failedRetrain(
  settings: ScratchSettings,
  config: unknown,
): Promise<{ cause: ApplicationFailure; activity: string; attempts: Map<string, number>; printed: string }> {
  const client = await temporalClient(settings);
  try {
    const workflowId = `${settings.prefix}retrain-failing`;
    const run = client.workflow.execute('retrain', {
      taskQueue: settings.pipelineTaskQueue,
      workflowId,
      // A retried failure would run for minutes; this fails the test long before that.
      workflowExecutionTimeout: '2 minutes',
      args: [retrainInput(settings, config)],
    });
    const error = (await runPipelineWorker(settings, run).then(
      () => assert.fail('the retrain succeeded'),
      (e: unknown) => e,
    )) as WorkflowFailedError;
    assert.ok(error.cause instanceof ActivityFailure, `failed by an activity, not ${error.cause}`);
    assert.ok(error.cause.cause instanceof ApplicationFailure);
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const attempts = new Map<string, number>();
    const scheduled = new Map<number, string>();
    for (const event of history.events ?? []) {
      const type = event.activityTaskScheduledEventAttributes?.activityType?.name;
      if (type) scheduled.set(Number(event.eventId), type);
      const started = event.activityTaskStartedEventAttributes;
      if (started) {
        const activity = scheduled.get(Number(started.scheduledEventId)) ?? '?';
        attempts.set(activity, Math.max(attempts.get(activity) ?? 0, started.attempt ?? 1));
      }
    }
    return {
      cause: error.cause.cause,
      activity: error.cause.activityType,
      attempts,
      printed: describeFailure(error),
    };
  } finally {
    await client.connection.close();
  }
}

test('a retrain with no interaction store fails on the first attempt with EmptyStoreError', async () => {
  const settings = await scratchNamespace();
  try {
    const { cause, activity, attempts, printed } = await failedRetrain(settings, {});
    assert.equal(activity, 'snapshotInteractions');
    assert.match(
      printed,
      /\n {2}because: no interaction store in .*: nothing was consumed into it yet$/,
      printed,
    );
    assert.equal(cause.type, failureTypes.emptyStore);
    assert.equal(cause.nonRetryable, true);
    assert.match(cause.message, /nothing was consumed/);
    assert.equal(attempts.get('snapshotInteractions'), 1, 'not retried');
  } finally {
    await settings.cleanup();
  }
});

test('a retrain on an empty store fails on the first attempt with EmptyStoreError', async () => {
  const settings = await scratchNamespace();
  try {
    const store = await InteractionStore.open(settings.storeDir);
    await store.commit({});
    await store.close();
    const { cause, attempts } = await failedRetrain(settings, {});
    assert.equal(cause.type, failureTypes.emptyStore);
    assert.equal(cause.nonRetryable, true);
    assert.match(cause.message, /is empty: nothing to train on/);
    assert.equal(attempts.get('snapshotInteractions'), 1, 'not retried');
  } finally {
    await settings.cleanup();
  }
});

test('a retrain with an invalid training config fails on the first attempt with TrainingConfigError', async () => {
  const settings = await scratchNamespace();
  try {
    await fillSyntheticStore(settings, { seed: 1, itemCount: 50, userCount: 40, interactionCount: 500 });
    const { cause, activity, attempts } = await failedRetrain(settings, { ials: { factors: 1 } });
    assert.equal(activity, 'trainRelease');
    assert.equal(cause.type, failureTypes.trainingConfig);
    assert.equal(cause.nonRetryable, true);
    assert.match(cause.message, /ials\.factors/);
    assert.equal(attempts.get('trainRelease'), 1, 'not retried');
  } finally {
    await settings.cleanup();
  }
});

test('an error thrown by the training code is a non-retryable TrainingError', async () => {
  const settings = await scratchNamespace();
  const nats = await connect({ servers: settings.natsUrl });
  try {
    // A snapshot the training thread cannot read: frozen, so every attempt would fail the same way.
    await mkdir(join(settings.snapshotsDir, 'corrupt'), { recursive: true });
    await writeFile(join(settings.snapshotsDir, 'corrupt', 'checkpoint.json'), '{ not json');
    const activities = createRetrainActivities({
      registry: await openModelRegistry(nats, settings.registryBucket),
      storeDir: settings.storeDir,
      snapshotsDir: settings.snapshotsDir,
      snapshotsKeep: 3,
    });
    const error = await new MockActivityEnvironment()
      .run(activities.trainRelease, { snapshot: 'corrupt', config: {} })
      .then(
        () => assert.fail('training succeeded'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof ApplicationFailure, `an ApplicationFailure, not ${error}`);
    assert.equal(error.type, failureTypes.training);
    assert.equal(error.nonRetryable, true);
    assert.match(error.message, /JSON/);
  } finally {
    await nats.close();
    await settings.cleanup();
  }
});

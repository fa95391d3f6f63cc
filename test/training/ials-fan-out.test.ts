/**
 * Fanned-out iALS on the real stack: two `cairn worker --queue cairn-training` processes solve the
 * shards, the `ialsFanOut` workflow runs on a pipeline worker in this process, and the factors
 * travel through the JetStream training store.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { type NativeConnection, Worker } from '@temporalio/worker';
import type { IalsShardInput, IalsShardResult } from '../../activities/training-shards';
import { syntheticMatrix } from '../../bench/models/synthetic-matrix';
import { exited, spawnCairn } from '../../services/config/cairn-process';
import { natsConnection } from '../../services/config/nats-connection';
import { type ScratchSettings, scratchNamespace } from '../../services/config/scratch-namespace';
import { Ials } from '../../services/models/ials';
import type { InteractionMatrix } from '../../services/models/interaction-matrix';
import {
  namespaceOf,
  temporalClient,
  workerConnection,
  workerDataConverter,
} from '../../services/orchestration/temporal';
import { decodeFactors, encodeFactors, ialsKeys } from '../../services/training/fan-out-format';
import { loadIalsFactors, storeIalsMatrix } from '../../services/training/fan-out-run';
import type { IalsFanOutParams } from '../../services/training/fan-out-solver';
import {
  destroyTrainingStore,
  openTrainingStore,
  type TrainingStore,
  trainingBucket,
  trainingTaskQueue,
} from '../../services/training/fan-out-store';
import type { IalsFanOutInput, IalsFanOutResult } from '../../workflows/ials-fan-out';
import { waitFor } from '../support/wait';

const { PendingActivityState, TaskQueueType } = temporal.api.enums.v1;
const decoder = new TextDecoder();

/** ‖a − b‖ / ‖b‖ */
function relativeError(a: Float32Array, b: Float32Array): number {
  let difference = 0;
  let norm = 0;
  for (let n = 0; n < b.length; n++) {
    difference += (a[n] - b[n]) ** 2;
    norm += b[n] ** 2;
  }
  return Math.sqrt(difference / norm);
}

interface ShardExecution {
  key: string;
  attempt: number;
  identity: string;
  computed: boolean;
}

const payload = <T>(payloads: { data?: Uint8Array | null }[] | null | undefined): T =>
  JSON.parse(decoder.decode(payloads?.[0]?.data ?? new Uint8Array())) as T;

/** The shard activities of a run as its history records them: one entry per scheduled shard. */
async function shardExecutions(client: Client, workflowId: string): Promise<ShardExecution[]> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const scheduled = new Map<string, string>();
  const started = new Map<string, { attempt: number; identity: string }>();
  const executions: ShardExecution[] = [];
  for (const event of events) {
    const schedule = event.activityTaskScheduledEventAttributes;
    if (schedule?.activityType?.name === 'solveIalsShard') {
      const input = payload<IalsShardInput>(schedule.input?.payloads);
      scheduled.set(String(event.eventId), ialsKeys.shard(input.run, input.epoch, input.side, input.shard));
    }
    const start = event.activityTaskStartedEventAttributes;
    if (start)
      started.set(String(start.scheduledEventId), {
        attempt: start.attempt ?? 0,
        identity: start.identity ?? '',
      });
    const completed = event.activityTaskCompletedEventAttributes;
    const key = completed ? scheduled.get(String(completed.scheduledEventId)) : undefined;
    if (completed && key !== undefined) {
      const { attempt = 0, identity = '' } = started.get(String(completed.scheduledEventId)) ?? {};
      const { computed } = payload<IalsShardResult>(completed.result?.payloads);
      executions.push({ key, attempt, identity, computed });
    }
  }
  assert.equal(executions.length, scheduled.size, 'every scheduled shard completed');
  return executions;
}

describe('fanned-out iALS training', () => {
  let settings: ScratchSettings;
  let client: Client;
  let nats: NatsConnection;
  let store: TrainingStore;
  let connection: NativeConnection;
  let workflowWorker: Worker;
  let workflowWorkerRun: Promise<void>;
  const trainers: ChildProcess[] = [];

  const startTrainer = () => {
    const child = spawnCairn(settings, ['worker', '--queue', 'cairn-training']);
    trainers.push(child);
    return child;
  };
  const activityPollers = async () =>
    (
      await client.workflowService.describeTaskQueue({
        namespace: namespaceOf(settings),
        taskQueue: { name: trainingTaskQueue(settings) },
        taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      })
    ).pollers ?? [];
  const fanOut = async (
    matrix: InteractionMatrix,
    run: string,
    params: IalsFanOutParams,
    shards: number,
    attempt = '',
  ) => {
    await storeIalsMatrix(store, run, matrix);
    const input: IalsFanOutInput = { run, params, shards, taskQueue: trainingTaskQueue(settings) };
    return client.workflow.start('ialsFanOut', {
      taskQueue: settings.pipelineTaskQueue,
      workflowId: `${settings.prefix}ials-${run}${attempt}`,
      args: [input],
      workflowExecutionTimeout: '10 minutes',
    });
  };

  before(async () => {
    settings = await scratchNamespace('fan');
    client = await temporalClient(settings);
    nats = await natsConnection(settings);
    store = await openTrainingStore(nats, trainingBucket(settings));
    connection = await workerConnection(settings);
    workflowWorker = await Worker.create({
      connection,
      namespace: namespaceOf(settings),
      taskQueue: settings.pipelineTaskQueue,
      workflowsPath: require.resolve('../../workflows'),
      dataConverter: workerDataConverter,
    });
    workflowWorkerRun = workflowWorker.run();
    startTrainer();
    startTrainer();
    await waitFor(async () => (await activityPollers()).length >= 2, {
      what: 'two training workers polling',
      timeoutMs: 120_000,
      pollMs: 500,
    });
  });

  after(async () => {
    for (const child of trainers)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([
      Promise.all(trainers.map(exited)),
      new Promise((resolve) => setTimeout(resolve, 30_000)),
    ]);
    for (const child of trainers)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(trainers.map(exited));
    workflowWorker?.shutdown();
    await workflowWorkerRun;
    await connection?.close();
    await destroyTrainingStore(nats, trainingBucket(settings));
    await nats?.close();
    await client?.connection.close();
    await settings?.cleanup();
  });

  it('a stored object decodes wherever its bytes start in memory', () => {
    const block = {
      from: 2,
      rows: 3,
      k: 4,
      factors: Float32Array.from({ length: 12 }, (_, n) => n / 7),
      gram: new Float64Array(16).fill(0.5),
    };
    const bytes = encodeFactors(block);
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    assert.deepEqual(decodeFactors(shifted.subarray(3), 'a shifted block'), block);
  });

  it('two worker processes give the single-process factors within 1e-4, and a stored shard is not solved again', async () => {
    const matrix = syntheticMatrix({ interactions: 60_000, items: 1_500, users: 4_000 });
    const params: IalsFanOutParams = { factors: 32, lambda: 5, alpha: 2, epochs: 4, seed: 3 };
    const handle = await fanOut(matrix, 'equal', params, 4);
    const result: IalsFanOutResult = await handle.result();

    const single = new Ials({ ...params, threads: 1 });
    await single.fit(matrix);
    const users = await loadIalsFactors(store, result.users);
    const items = await loadIalsFactors(store, result.items);
    const userError = relativeError(users.factors, single.userVectors);
    const itemError = relativeError(items.factors, single.itemVectors);
    assert.ok(userError < 1e-4, `user factors differ by ${userError} relative`);
    assert.ok(itemError < 1e-4, `item factors differ by ${itemError} relative`);

    const executions = await shardExecutions(client, handle.workflowId);
    assert.equal(executions.length, params.epochs * 2 * 4);
    assert.equal(new Set(executions.map((e) => e.identity)).size, 2, 'both training workers solved shards');

    assert.ok(executions.every((e) => e.computed));

    const again = await fanOut(matrix, 'equal', params, 4, '-again');
    assert.deepEqual(await again.result(), result);
    const rerun = await shardExecutions(client, again.workflowId);
    assert.equal(rerun.length, executions.length);
    assert.ok(
      rerun.every((e) => !e.computed),
      'a re-run of the same run finds every shard stored',
    );
  });

  it('a training worker killed mid-shard: the shard is retried on the other, the finished ones are not redone', async () => {
    const matrix = syntheticMatrix({ interactions: 1_500_000, items: 10_000, users: 100_000 });
    const params: IalsFanOutParams = { factors: 64, lambda: 5, alpha: 2, epochs: 2, seed: 1 };
    const shards = 2;
    const handle = await fanOut(matrix, 'killed', params, shards);
    // Activity 1 starts the run; each half-step is `shards` shards and an assembly. A shard from
    // activity 2·shards + 4 on is in the second epoch, when every shard of the first is finished.
    const victim = await waitFor(
      async () => {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        const started = pending.filter(
          (a) =>
            a.activityType?.name === 'solveIalsShard' &&
            a.state === PendingActivityState.PENDING_ACTIVITY_STATE_STARTED &&
            Number(a.activityId) >= 2 * shards + 4,
        );
        const identity = started[0]?.lastWorkerIdentity;
        return identity
          ? { pid: Number(identity.split('@')[0]), activityId: started[0].activityId }
          : undefined;
      },
      { what: 'a shard of the second epoch to start', timeoutMs: 300_000, pollMs: 50 },
    );
    const killed = trainers.find((child) => child.pid === victim.pid);
    assert.ok(killed, `shard ran on worker ${victim.pid}, which is not one of ours`);
    killed.kill('SIGKILL');
    await exited(killed);

    await handle.result();
    const executions = await shardExecutions(client, handle.workflowId);
    assert.equal(executions.length, params.epochs * 2 * shards, 'each shard scheduled once');
    assert.equal(new Set(executions.map((e) => e.key)).size, executions.length);
    const retried = executions.filter((e) => e.attempt > 1);
    assert.equal(retried.length, 1, `retried: ${JSON.stringify(retried)}`);
    assert.match(retried[0].key, /\/epoch-1\//, 'only the killed shard of the second epoch ran twice');
    assert.notEqual(
      retried[0].identity.split('@')[0],
      String(victim.pid),
      'the retry ran on the surviving worker',
    );
    const keys = await store.runKeys('killed');
    assert.equal(keys.filter((key) => key.includes('/shard-')).length, executions.length);
  });
});

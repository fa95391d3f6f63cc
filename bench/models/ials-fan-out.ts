/**
 * Time per iALS epoch fanned out over 1 and 2 `cairn worker --queue cairn-training` processes,
 * on the seeded synthetic matrix, against the in-process fit with 1 and 2 threads on the same
 * matrix. An epoch's time comes from the workflow's history: from the end of one epoch's item
 * half (or of the run's start) to the end of the next, so it includes moving factors through
 * the JetStream store. Each run gets a scratch namespace on the real stack.
 * Run: npx tsx bench/models/ials-fan-out.ts [interactions] [items] [users] [factors] [epochs]
 */
import { loadavg } from 'node:os';
import type { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { exited, spawnCairn } from '../../services/config/cairn-process';
import { natsConnection } from '../../services/config/nats-connection';
import { scratchNamespace } from '../../services/config/scratch-namespace';
import { Ials } from '../../services/models/ials';
import type { InteractionMatrix } from '../../services/models/interaction-matrix';
import {
  namespaceOf,
  temporalClient,
  workerConnection,
  workerDataConverter,
} from '../../services/orchestration/temporal';
import { storeIalsMatrix } from '../../services/training/fan-out-run';
import type { IalsFanOutParams } from '../../services/training/fan-out-solver';
import {
  destroyTrainingStore,
  openTrainingStore,
  trainingBucket,
  trainingTaskQueue,
} from '../../services/training/fan-out-store';
import type { IalsFanOutInput } from '../../workflows/ials-fan-out';
import { syntheticMatrix } from './synthetic-matrix';

const [interactions = 1_500_000, items = 20_000, users = 100_000, factors = 64, epochs = 3] = process.argv
  .slice(2)
  .map(Number);
const load = () =>
  `load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Seconds per epoch of a fanned-out fit over `workers` training processes. */
async function fanOutEpochs(
  matrix: InteractionMatrix,
  params: IalsFanOutParams,
  workers: number,
): Promise<number[]> {
  const settings = await scratchNamespace('bench-fan');
  const client = await temporalClient(settings);
  const nats = await natsConnection(settings);
  const trainers = Array.from({ length: workers }, () =>
    spawnCairn(settings, ['worker', '--queue', 'cairn-training']),
  );
  const connection = await workerConnection(settings);
  try {
    const store = await openTrainingStore(nats, trainingBucket(settings));
    await storeIalsMatrix(store, 'bench', matrix);
    const worker = await Worker.create({
      connection,
      namespace: namespaceOf(settings),
      taskQueue: settings.pipelineTaskQueue,
      workflowsPath: require.resolve('../../workflows'),
      dataConverter: workerDataConverter,
    });
    const input: IalsFanOutInput = {
      run: 'bench',
      params,
      shards: workers,
      taskQueue: trainingTaskQueue(settings),
    };
    const handle = await client.workflow.start('ialsFanOut', {
      taskQueue: settings.pipelineTaskQueue,
      workflowId: `${settings.prefix}ials-bench`,
      args: [input],
      workflowExecutionTimeout: '2 hours',
    });
    await worker.runUntil(handle.result());
    return epochTimes(await handle.fetchHistory(), params.epochs);
  } finally {
    for (const child of trainers) child.kill('SIGTERM');
    await Promise.all(trainers.map(exited));
    await connection.close();
    await destroyTrainingStore(nats, trainingBucket(settings));
    await nats.close();
    await client.connection.close();
    await settings.cleanup();
  }
}

/** Epoch boundaries: the start activity's completion, then every second half's assembly. */
function epochTimes(history: temporal.api.history.v1.IHistory, epochs: number): number[] {
  const scheduled = new Map<string, string>();
  const ends: number[] = [];
  for (const event of history.events ?? []) {
    const name = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) scheduled.set(String(event.eventId), name);
    const completed = event.activityTaskCompletedEventAttributes;
    const type = completed && scheduled.get(String(completed.scheduledEventId));
    const at = Number(event.eventTime?.seconds ?? 0) * 1000 + (event.eventTime?.nanos ?? 0) / 1e6;
    if (type === 'startIalsRun' || type === 'assembleIalsHalf') ends.push(at);
  }
  // ends: start, then users/items assemblies per epoch; an epoch ends with its item assembly.
  return Array.from({ length: epochs }, (_, e) => ends[2 * e + 2] - ends[2 * e]);
}

async function main(): Promise<void> {
  console.log(`command: npx tsx bench/models/ials-fan-out.ts ${process.argv.slice(2).join(' ')}`.trim());
  const matrix = syntheticMatrix({ interactions, items, users });
  console.log(`matrix: ${matrix.nUsers} users × ${matrix.nItems} items, ${matrix.nnz} pairs, k=${factors}`);
  const params: IalsFanOutParams = { factors, lambda: 30, alpha: 2, epochs, seed: 1 };
  for (const threads of [1, 2]) {
    const times: number[] = [];
    await new Ials({
      ...params,
      threads,
      onEpoch: (_epoch, epochSeconds) => times.push(epochSeconds * 1000),
    }).fit(matrix);
    console.log(`in process, ${threads} thread(s): ${times.map(seconds).join(' / ')} per epoch (${load()})`);
  }
  for (const workers of [1, 2]) {
    const times = await fanOutEpochs(matrix, params, workers);
    console.log(
      `fanned out, ${workers} worker process(es): ${times.map(seconds).join(' / ')} per epoch (${load()})`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

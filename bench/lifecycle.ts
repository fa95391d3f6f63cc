/**
 * `cairn lifecycle bench`: item lifecycle workflows for N synthetic items on the Temporal server,
 * with a `cairn worker` child process doing the work: starts (signal-with-start, as the catalog
 * consumer does), count signals (as the counting consumer sends them), then retirement of every
 * item. Reports workflows/s, signals/s and the history size per item. Runs in a scratch
 * namespace with no release serving, so activities are the budget grant and revocation and an
 * index lookup: what is measured is Temporal's side of the lifecycle. Every figure is taken on a
 * shared machine, so the load average and the CPU time of the server, the worker and the client
 * are reported beside it.
 */
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Client, isGrpcServiceError, ServiceError } from '@temporalio/client';
import { stackStatus } from '../deploy/local/stack';
import { exited, spawnCairn } from '../services/config/cairn-process';
import { natsConnection } from '../services/config/nats-connection';
import { scratchNamespace } from '../services/config/scratch-namespace';
import { openBudgetBucket } from '../services/lifecycle/exploration-budget';
import { terminateLifecycles } from '../services/lifecycle/lifecycle-cleanup';
import {
  explorationBucket,
  lifecycleWorkflowId,
  runningLifecyclesQuery,
} from '../services/lifecycle/lifecycle-names';
import type { CountBatch } from '../services/lifecycle/lifecycle-state';
import { temporalClient } from '../services/orchestration/temporal';
import {
  countsSignal,
  createdSignal,
  itemLifecycle,
  lifecycleState,
  retiredSignal,
} from '../workflows/item-lifecycle';

export interface LifecycleBenchOptions {
  items: number;
  signalsPerItem: number;
  /** Client calls in flight at once. */
  concurrency: number;
  log: (line: string) => void;
}

export interface LifecycleBenchResult {
  items: number;
  signalsPerItem: number;
  /** Starts accepted by the server, and every item's cold phase run by the worker. */
  startsAcceptedPerSecond: number;
  workflowsPerSecond: number;
  signalsAcceptedPerSecond: number;
  /** Signals applied by the worker (the last item's count seen by a query). */
  signalsPerSecond: number;
  retiredPerSecond: number;
  totalSeconds: number;
  /** Client calls repeated after the server timed out on them. */
  retriedCalls: number;
  history: { sampled: number; events: number; bytes: number };
  /** 1-minute load average: at the start, the highest seen, at the end. */
  load: { start: number; max: number; end: number };
  /** CPU milliseconds per item over the whole run; the server's only when it is the local stack's. */
  cpuMsPerItem: { server?: number; worker?: number; client: number };
}

const content = { title: 'Synthetic item', categories: ['bench'], year: 2024, text: '' };

/** gRPC DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNAVAILABLE: the loaded server did not answer in time. */
const transientCodes = new Set([4, 8, 14]);

const transient = (error: unknown) =>
  error instanceof ServiceError && isGrpcServiceError(error.cause) && transientCodes.has(error.cause.code);

/**
 * Repeats a client call that the loaded server timed out on, so that one slow answer among
 * hundreds of thousands does not end the run. Every call of the bench may be repeated: a resent
 * count batch lists the same offsets and counts once, a second item_created or retirement
 * changes nothing.
 */
function persistently(onRetry: () => void) {
  return async <T>(call: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (attempt === 6 || !transient(error)) throw error;
        onRetry();
        await sleep(1_000 * attempt);
      }
    }
  };
}

async function inParallel(count: number, concurrency: number, call: (n: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await call(next++);
    }),
  );
}

async function runningLifecycles(client: Client, taskQueue: string): Promise<number> {
  return (await client.workflow.count(runningLifecyclesQuery(taskQueue))).count;
}

const seconds = (from: number) => (performance.now() - from) / 1000;

/** CPU seconds (user + system) a process has used so far, from Linux's /proc; undefined elsewhere. */
async function cpuSeconds(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // utime and stime in clock ticks (100 per second), counted after the parenthesised command name.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Progress is polled every 2 s and logged every 10 s: a long run's log stays readable. */
const progressEvery = 5;

const oneMinuteLoad = () => Math.round(loadavg()[0] * 10) / 10;

export async function benchLifecycle(options: LifecycleBenchOptions): Promise<LifecycleBenchResult> {
  const { items, signalsPerItem, concurrency, log } = options;
  const settings = await scratchNamespace('lcbench');
  const client = await temporalClient(settings);
  const nats = await natsConnection(settings);
  const budgets = await openBudgetBucket(nats, explorationBucket(settings));
  const serverPid = (await stackStatus(settings, ['temporal']))[0]?.pid;
  const worker = spawnCairn(settings, ['worker']);
  const load = { start: oneMinuteLoad(), max: oneMinuteLoad(), end: 0 };
  const loadWatch = setInterval(() => {
    load.max = Math.max(load.max, oneMinuteLoad());
  }, 5_000);
  const client0 = process.cpuUsage();
  const server0 = await cpuSeconds(serverPid);
  let retriedCalls = 0;
  const retrying = persistently(() => {
    retriedCalls++;
  });
  const itemId = (n: number) => `bench-item-${n}`;
  const handle = (n: number) => client.workflow.getHandle(lifecycleWorkflowId(settings, itemId(n)));
  try {
    const began = performance.now();
    await inParallel(items, concurrency, (n) =>
      retrying(() =>
        client.workflow.signalWithStart(itemLifecycle, {
          workflowId: lifecycleWorkflowId(settings, itemId(n)),
          taskQueue: settings.pipelineTaskQueue,
          args: [{ itemId: itemId(n), content }],
          signal: createdSignal,
          signalArgs: [content],
        }),
      ),
    );
    const startsAccepted = seconds(began);
    log(`${items} starts accepted in ${startsAccepted.toFixed(1)} s (load ${oneMinuteLoad()})`);
    // Every cold phase ends with the item's budget grant: the bucket's key count is the progress.
    for (let poll = 1; ; poll++) {
      const granted = (await budgets.status()).values;
      if (granted >= items) break;
      if (poll % progressEvery === 0) log(`  cold phases run: ${granted}/${items} (load ${oneMinuteLoad()})`);
      await sleep(2_000);
    }
    const coldDone = seconds(began);
    log(`${items} lifecycles through their cold phase in ${coldDone.toFixed(1)} s (load ${oneMinuteLoad()})`);

    const signalsBegan = performance.now();
    const batch = (round: number): CountBatch => ({
      contributions: [
        { stream: 'impressions', partition: 0, offsets: [round] },
        { stream: 'interactions', partition: 0, offsets: [round] },
      ],
      users: [`bench-user-${round}`],
    });
    for (let round = 0; round < signalsPerItem; round++)
      await inParallel(items, concurrency, (n) =>
        retrying(() => handle(n).signal(countsSignal, batch(round))),
      );
    const signalsAccepted = seconds(signalsBegan);
    log(
      `${items * signalsPerItem} signals accepted in ${signalsAccepted.toFixed(1)} s (load ${oneMinuteLoad()})`,
    );
    // Signals are applied in order per item, so the last item's count tells when all are.
    const lastItems = [items - 1, Math.floor(items / 2), 0];
    for (;;) {
      // A query times out while the worker works through a backlog: that is a "not yet".
      const views = await Promise.all(
        lastItems.map((n) =>
          handle(n)
            .query(lifecycleState)
            .catch(() => undefined),
        ),
      );
      if (views.every((v) => v?.interactions === signalsPerItem)) break;
      await sleep(500);
    }
    const signalsApplied = seconds(signalsBegan);
    log(`applied by the worker in ${signalsApplied.toFixed(1)} s (load ${oneMinuteLoad()})`);

    const retireBegan = performance.now();
    await inParallel(items, concurrency, (n) => retrying(() => handle(n).signal(retiredSignal)));
    for (let poll = 1; ; poll++) {
      const running = await runningLifecycles(client, settings.pipelineTaskQueue);
      if (running === 0) break;
      if (poll % progressEvery === 0) log(`  still running: ${running} (load ${oneMinuteLoad()})`);
      await sleep(2_000);
    }
    const retired = seconds(retireBegan);
    log(`${items} retired in ${retired.toFixed(1)} s (load ${oneMinuteLoad()})`);
    const [server1, workerCpu] = await Promise.all([cpuSeconds(serverPid), cpuSeconds(worker.pid)]);
    const clientCpu = process.cpuUsage(client0);
    load.end = oneMinuteLoad();
    const perItem = (cpu: number | undefined) => (cpu === undefined ? undefined : (cpu * 1000) / items);

    const sample = Array.from({ length: Math.min(20, items) }, (_, s) =>
      Math.floor((s * items) / Math.min(20, items)),
    );
    const histories = await Promise.all(
      sample.map(async (n) => (await handle(n).describe()).raw.workflowExecutionInfo),
    );
    const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;
    return {
      items,
      signalsPerItem,
      startsAcceptedPerSecond: items / startsAccepted,
      workflowsPerSecond: items / coldDone,
      signalsAcceptedPerSecond: (items * signalsPerItem) / signalsAccepted,
      signalsPerSecond: (items * signalsPerItem) / signalsApplied,
      retiredPerSecond: items / retired,
      totalSeconds: seconds(began),
      retriedCalls,
      history: {
        sampled: sample.length,
        events: mean(histories.map((h) => Number(h?.historyLength ?? 0))),
        bytes: mean(histories.map((h) => Number(h?.historySizeBytes ?? 0))),
      },
      load,
      cpuMsPerItem: {
        server: server0 === undefined || server1 === undefined ? undefined : perItem(server1 - server0),
        worker: perItem(workerCpu),
        client: (clientCpu.user + clientCpu.system) / 1000 / items,
      },
    };
  } finally {
    clearInterval(loadWatch);
    // A benchmark stopped half-way must not leave thousands of lifecycles waiting on the server.
    await terminateLifecycles(client, settings.pipelineTaskQueue, 'benchmark ended');
    worker.kill('SIGTERM');
    await exited(worker);
    await budgets.destroy().catch(() => undefined);
    await nats.close();
    await client.connection.close();
    await settings.cleanup();
  }
}

export function formatLifecycleBench(r: LifecycleBenchResult): string[] {
  return [
    `items ${r.items}, ${r.signalsPerItem} count signals per item, total ${r.totalSeconds.toFixed(1)} s (${r.retriedCalls} client calls repeated after a server time-out)`,
    `workflows/s (start to cold phase done): ${r.workflowsPerSecond.toFixed(0)} (starts accepted: ${r.startsAcceptedPerSecond.toFixed(0)}/s)`,
    `signals/s (applied by the worker): ${r.signalsPerSecond.toFixed(0)} (accepted: ${r.signalsAcceptedPerSecond.toFixed(0)}/s)`,
    `retirements/s (signal to workflow closed): ${r.retiredPerSecond.toFixed(0)}`,
    `history per item (mean of ${r.history.sampled}, whole life): ${r.history.events.toFixed(0)} events, ${(r.history.bytes / 1024).toFixed(1)} KiB`,
    `CPU per item's life: Temporal server ${msOrUnknown(r.cpuMsPerItem.server)}, worker ${msOrUnknown(r.cpuMsPerItem.worker)}, bench client ${msOrUnknown(r.cpuMsPerItem.client)}`,
    `load average (1 min): ${r.load.start} at the start, ${r.load.max} at most, ${r.load.end} at the end`,
  ];
}

const msOrUnknown = (ms: number | undefined) =>
  ms === undefined ? 'not measured (not the local stack)' : `${ms.toFixed(1)} ms`;

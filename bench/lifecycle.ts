/**
 * `cairn lifecycle bench`: item lifecycle workflows for N synthetic items on the Temporal server,
 * with a `cairn worker` child process doing the work: starts (signal-with-start, as the catalog
 * consumer does), count signals (as the counting consumer sends them), then retirement of every
 * item. Reports workflows/s, signals/s and the history size per item. Runs in a scratch
 * namespace with no release serving, so activities are the budget grant and revocation and an
 * index lookup: what is measured is Temporal's side of the lifecycle.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
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
  history: { sampled: number; events: number; bytes: number };
}

const content = { title: 'Synthetic item', categories: ['bench'], year: 2024, text: '' };

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

export async function benchLifecycle(options: LifecycleBenchOptions): Promise<LifecycleBenchResult> {
  const { items, signalsPerItem, concurrency, log } = options;
  const settings = await scratchNamespace('lcbench');
  const client = await temporalClient(settings);
  const nats = await natsConnection(settings);
  const budgets = await openBudgetBucket(nats, explorationBucket(settings));
  const worker = spawnCairn(settings, ['worker']);
  const itemId = (n: number) => `bench-item-${n}`;
  const handle = (n: number) => client.workflow.getHandle(lifecycleWorkflowId(settings, itemId(n)));
  try {
    const began = performance.now();
    await inParallel(items, concurrency, (n) =>
      client.workflow.signalWithStart(itemLifecycle, {
        workflowId: lifecycleWorkflowId(settings, itemId(n)),
        taskQueue: settings.pipelineTaskQueue,
        args: [{ itemId: itemId(n), content }],
        signal: createdSignal,
        signalArgs: [content],
      }),
    );
    const startsAccepted = seconds(began);
    log(`${items} starts accepted in ${startsAccepted.toFixed(1)} s`);
    // Every cold phase ends with the item's budget grant: the bucket's key count is the progress.
    for (;;) {
      const granted = (await budgets.status()).values;
      if (granted >= items) break;
      log(`  cold phases run: ${granted}/${items}`);
      await sleep(2_000);
    }
    const coldDone = seconds(began);
    log(`${items} lifecycles through their cold phase in ${coldDone.toFixed(1)} s`);

    const signalsBegan = performance.now();
    const batch = (round: number): CountBatch => ({
      contributions: [
        { stream: 'impressions', partition: 0, offsets: [round] },
        { stream: 'interactions', partition: 0, offsets: [round] },
      ],
      users: [`bench-user-${round}`],
    });
    for (let round = 0; round < signalsPerItem; round++)
      await inParallel(items, concurrency, (n) => handle(n).signal(countsSignal, batch(round)));
    const signalsAccepted = seconds(signalsBegan);
    log(`${items * signalsPerItem} signals accepted in ${signalsAccepted.toFixed(1)} s`);
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
    log(`applied by the worker in ${signalsApplied.toFixed(1)} s`);

    const retireBegan = performance.now();
    await inParallel(items, concurrency, (n) => handle(n).signal(retiredSignal));
    for (;;) {
      const running = await runningLifecycles(client, settings.pipelineTaskQueue);
      if (running === 0) break;
      log(`  still running: ${running}`);
      await sleep(2_000);
    }
    const retired = seconds(retireBegan);
    log(`${items} retired in ${retired.toFixed(1)} s`);

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
      history: {
        sampled: sample.length,
        events: mean(histories.map((h) => Number(h?.historyLength ?? 0))),
        bytes: mean(histories.map((h) => Number(h?.historySizeBytes ?? 0))),
      },
    };
  } finally {
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
    `items ${r.items}, ${r.signalsPerItem} count signals per item, total ${r.totalSeconds.toFixed(1)} s`,
    `workflows/s (start to cold phase done): ${r.workflowsPerSecond.toFixed(0)} (starts accepted: ${r.startsAcceptedPerSecond.toFixed(0)}/s)`,
    `signals/s (applied by the worker): ${r.signalsPerSecond.toFixed(0)} (accepted: ${r.signalsAcceptedPerSecond.toFixed(0)}/s)`,
    `retirements/s (signal to workflow closed): ${r.retiredPerSecond.toFixed(0)}`,
    `history per item (mean of ${r.history.sampled}, whole life): ${r.history.events.toFixed(0)} events, ${(r.history.bytes / 1024).toFixed(1)} KiB`,
  ];
}

/**
 * Tells every running item lifecycle that a new release is serving, so each recomputes its vector
 * in the new space (fold-in again for warm items, content map for the others) without a restart.
 * The retrain's backfill writes only the items of its snapshot; items created since live on in
 * the new index through this. Signals are idempotent (a lifecycle already on the version ignores
 * it), so a retried announcement repeats harmlessly.
 */
import type { Client } from '@temporalio/client';
import { championChangedSignal } from '../../workflows/item-lifecycle';
import { signalIfRunning } from './lifecycle-consumers';
import { runningLifecyclesQuery } from './lifecycle-names';

export async function announceChampion(
  client: Client,
  taskQueue: string,
  version: string,
  onProgress: (signalled: number) => void = () => undefined,
  concurrency = 32,
): Promise<number> {
  const running = client.workflow.list({ query: runningLifecyclesQuery(taskQueue) });
  let signalled = 0;
  let inFlight: Promise<void>[] = [];
  for await (const execution of running) {
    const handle = client.workflow.getHandle(execution.workflowId);
    // One that ended since it was listed has no vector to recompute.
    inFlight.push(
      signalIfRunning(() => handle.signal(championChangedSignal, { version })).then(() => undefined),
    );
    if (inFlight.length === concurrency) {
      await Promise.all(inFlight);
      inFlight = [];
      signalled += concurrency;
      onProgress(signalled);
    }
  }
  await Promise.all(inFlight);
  return signalled + inFlight.length;
}

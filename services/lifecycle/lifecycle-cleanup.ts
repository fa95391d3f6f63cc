/**
 * Ends the running lifecycles of one namespace (its task queue is its own): what a demo or a
 * benchmark leaves behind would otherwise wait on the server for signals that never come.
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { runningLifecyclesQuery } from './lifecycle-names';

export async function terminateLifecycles(
  client: Client,
  taskQueue: string,
  reason: string,
  concurrency = 32,
): Promise<number> {
  let terminated = 0;
  let inFlight: Promise<void>[] = [];
  const settle = async () => {
    await Promise.all(inFlight);
    inFlight = [];
  };
  for await (const execution of client.workflow.list({ query: runningLifecyclesQuery(taskQueue) })) {
    inFlight.push(
      client.workflow
        .getHandle(execution.workflowId)
        .terminate(reason)
        .then(
          () => {
            terminated++;
          },
          (error: unknown) => {
            // Ended since it was listed: nothing left to end.
            if (!(error instanceof WorkflowNotFoundError)) throw error;
          },
        ),
    );
    if (inFlight.length === concurrency) await settle();
  }
  await settle();
  return terminated;
}

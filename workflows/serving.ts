import { continueAsNew, defineQuery, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ServingActivities, ServingLifetime } from '../activities/serving';
import { temporalConfig } from '../temporal.config';

const { serveRecommendations } = proxyActivities<ServingActivities>({
  startToCloseTimeout: temporalConfig.timeouts.servingLifetime,
  heartbeatTimeout: temporalConfig.timeouts.servingHeartbeat,
  retry: temporalConfig.retry.serving,
});

export interface ServingInput {
  /** Serving config (validated by the activity); empty for the defaults. */
  config: unknown;
  replica: string;
}

export const servingLifetimes = defineQuery<ServingLifetime[]>('lifetimes');

/** Lifetimes kept per run: history stays small, and the run continues as new. */
const lifetimesPerRun = 100;

/**
 * A serving replica, for as long as it is wanted: one long activity per lifetime, each ended by
 * a shutdown (its counters are its result, in the history) or by a failure or a missed
 * heartbeat, after which Temporal starts the next one on the replica's task queue.
 */
export async function serving(input: ServingInput): Promise<void> {
  const lifetimes: ServingLifetime[] = [];
  setHandler(servingLifetimes, () => lifetimes);
  while (lifetimes.length < lifetimesPerRun && !workflowInfo().continueAsNewSuggested)
    lifetimes.push(await serveRecommendations({ config: input.config }));
  await continueAsNew<typeof serving>(input);
}

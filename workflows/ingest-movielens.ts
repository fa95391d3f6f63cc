import { proxyActivities } from '@temporalio/workflow';
import type { DatasetRef, IngestActivities } from '../activities/ingest';
import { temporalConfig } from '../temporal.config';

const { prepareEventLog, publishMovieLensEntities, awaitStore, publishMovieLensInteractions } =
  proxyActivities<IngestActivities>({
    startToCloseTimeout: temporalConfig.timeouts.ioActivity,
    heartbeatTimeout: temporalConfig.timeouts.heartbeat,
    retry: temporalConfig.retry.io,
  });

export interface IngestSummary {
  createdTopics: string[];
  users: number;
  items: number;
  interactions: number;
}

/**
 * Replays MovieLens onto the event log: users and items first, and interactions only once the
 * store knows them (an interaction on an unknown item is a dead letter), in timestamp order.
 * Done means durable in the store, not merely produced.
 */
export async function ingestMovieLens(dataset: DatasetRef): Promise<IngestSummary> {
  const createdTopics = await prepareEventLog();
  const { users, items } = await publishMovieLensEntities(dataset);
  await awaitStore(['users', 'catalog']);
  const interactions = await publishMovieLensInteractions(dataset);
  await awaitStore(['interactions']);
  return { createdTopics, users, items, interactions };
}

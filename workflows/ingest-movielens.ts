import { proxyActivities } from '@temporalio/workflow';
import type { DatasetRef, MovieLensActivities } from '../activities/movielens';
import { temporalConfig } from '../temporal.config';

const { prepareEventLog, publishMovieLensInteractions, indexMovieLensCatalog } =
  proxyActivities<MovieLensActivities>({
    startToCloseTimeout: temporalConfig.timeouts.ioActivity,
    heartbeatTimeout: temporalConfig.timeouts.heartbeat,
    retry: temporalConfig.retry.io,
  });

export interface IngestSummary {
  createdTopics: string[];
  interactions: number;
  items: number;
}

/** Puts MovieLens on the event log and in the catalog: the first end-to-end slice. */
export async function ingestMovieLens(dataset: DatasetRef): Promise<IngestSummary> {
  const createdTopics = await prepareEventLog();
  const [interactions, items] = await Promise.all([
    publishMovieLensInteractions(dataset),
    indexMovieLensCatalog(dataset),
  ]);
  return { createdTopics, interactions, items };
}

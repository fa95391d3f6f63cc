/** Starts the ingest workflow and waits for it, optionally with a worker in this process. */
import type { CairnSettings } from '../services/config/environment';
import { fetchMovieLens } from '../services/data/fetch';
import { temporalClient } from '../services/orchestration/temporal';
import { temporalConfig } from '../temporal.config';
import type { IngestSummary } from '../workflows/ingest-movielens';
import { createPipelineWorker } from './worker';

export async function runIngestMovieLens(
  settings: CairnSettings,
  { inProcessWorker }: { inProcessWorker: boolean },
): Promise<IngestSummary> {
  const dataDir = await fetchMovieLens(settings.cacheDir);
  const client = await temporalClient(settings);
  const execute = () =>
    client.workflow.execute('ingestMovieLens', {
      taskQueue: temporalConfig.taskQueues.pipeline,
      workflowId: temporalConfig.workflowIds.ingestMovielens,
      // A second ingest while one runs joins nothing and fails fast; a finished one may be rerun.
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      args: [{ dataDir }],
    }) as Promise<IngestSummary>;
  try {
    if (!inProcessWorker) return await execute();
    const worker = await createPipelineWorker(settings);
    return await worker.runUntil(execute());
  } finally {
    await client.connection.close();
  }
}

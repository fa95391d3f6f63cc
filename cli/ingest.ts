/**
 * Starts the ingest workflow and waits for it. The workflow id carries the dataset's content
 * hash: ingesting the same data again finds the finished workflow in Temporal's history and
 * returns its summary instead of producing anything.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { CairnSettings } from '../services/config/environment';
import { fetchMovieLens } from '../services/data/fetch';
import { movieLensFiles } from '../services/data/movielens';
import { temporalClient } from '../services/orchestration/temporal';
import { temporalConfig } from '../temporal.config';
import type { IngestSummary } from '../workflows/ingest-movielens';
import { startConsumers } from './consumers';
import { runPipelineWorker } from './worker';

export interface IngestOptions {
  /** Run a worker and the consumers in this process (otherwise they run elsewhere). */
  inProcess: boolean;
  eventsPerSecond: number;
}

export interface IngestResult extends IngestSummary {
  workflowId: string;
  alreadyIngested: boolean;
}

export async function datasetHash(dataDir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const file of Object.values(movieLensFiles(dataDir))) hash.update(await readFile(file));
  return hash.digest('hex').slice(0, 16);
}

export async function runIngestMovieLens(
  settings: CairnSettings,
  options: IngestOptions,
): Promise<IngestResult> {
  const dataDir = await fetchMovieLens(settings.cacheDir);
  const workflowId = `${settings.prefix}${temporalConfig.workflowIds.ingestMovielens}-${await datasetHash(dataDir)}`;
  const client = await temporalClient(settings);
  const run = async (): Promise<IngestResult> => {
    try {
      const handle = await client.workflow.start('ingestMovieLens', {
        taskQueue: settings.pipelineTaskQueue,
        workflowId,
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        args: [{ dataDir, eventsPerSecond: options.eventsPerSecond }],
      });
      return { ...((await handle.result()) as IngestSummary), workflowId, alreadyIngested: false };
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      return earlier();
    }
  };
  const earlier = async (): Promise<IngestResult> => {
    const summary = (await client.workflow.getHandle(workflowId).result()) as IngestSummary;
    return { ...summary, createdTopics: [], workflowId, alreadyIngested: true };
  };
  try {
    // Already ingested: answer from the workflow's history without starting workers or consumers.
    const past = await client.workflow
      .getHandle(workflowId)
      .describe()
      .catch(() => undefined);
    if (past?.status.name === 'COMPLETED') return await earlier();
    if (!options.inProcess) return await run();
    const consumers = await startConsumers(settings);
    try {
      return (await runPipelineWorker(settings, run())) as IngestResult;
    } finally {
      await consumers.stop();
    }
  } finally {
    await client.connection.close();
  }
}

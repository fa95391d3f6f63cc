/**
 * Starts the ingest workflow and waits for it. The workflow id carries the dataset's content
 * hash: ingesting the same data again finds the finished workflow in Temporal's history and
 * returns its summary instead of producing anything.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { CairnSettings } from '../services/config/environment';
import { fetchMovieLens } from '../services/data/fetch';
import { movieLensFiles } from '../services/data/movielens';
import { kafkaClient } from '../services/events/kafka';
import { waitForProjection } from '../services/events/projection-progress';
import { temporalClient } from '../services/orchestration/temporal';
import { temporalConfig } from '../temporal.config';
import type { IngestSummary } from '../workflows/ingest-movielens';
import { startConsumers } from './consumers';
import { runPipelineWorker } from './worker';

export interface IngestOptions {
  /** Run a worker and the consumers in this process (otherwise they run elsewhere). */
  inProcess: boolean;
  eventsPerSecond: number;
  /** A MovieLens-format directory to ingest instead of the fetched dataset (the demo's train period). */
  dataDir?: string;
}

/**
 * The workflow waits for the store; the catalog index is the other projection, and the consumers
 * of this process stop on return, so the ingest waits for it too (the catalog indexer commits
 * only what Elasticsearch shows). Once, an ingest returned with 1,277 of 1,682 items indexed.
 */
const catalogWaitMs = 120_000;

async function catalogIndexed(settings: CairnSettings): Promise<void> {
  const admin = kafkaClient(settings, 'cairn-ingest').admin();
  await admin.connect();
  try {
    await waitForProjection(
      admin,
      settings.consumerGroups.catalog,
      settings.topics,
      ['catalog'],
      undefined,
      100,
      AbortSignal.timeout(catalogWaitMs),
    ).catch((error: unknown) => {
      if (error instanceof Error && error.name === 'AbortError')
        throw new Error(
          `the catalog index did not catch up with the catalog topic within ${catalogWaitMs / 1000} s`,
        );
      throw error;
    });
  } finally {
    await admin.disconnect();
  }
}

export interface IngestResult extends IngestSummary {
  workflowId: string;
  alreadyIngested: boolean;
}

/** SIGINT or SIGTERM stopped an ingest that ran its worker and consumers in this process. */
export class IngestInterrupted extends Error {
  override name = 'IngestInterrupted';
  /** The conventional exit code of a process ended by that signal. */
  readonly exitCode: number;

  constructor(signal: NodeJS.Signals, workflowId: string) {
    super(
      `interrupted by ${signal}: workflow ${workflowId} stays in Temporal and carries on when ` +
        `'cairn ingest movielens' (or a 'cairn worker') runs again`,
    );
    this.exitCode = 128 + constants.signals[signal];
  }
}

/** Rejects with IngestInterrupted on the first SIGINT or SIGTERM, until disposed. */
function interruption(workflowId: string): { interrupted: Promise<never>; dispose(): void } {
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const interrupted = new Promise<never>((_, reject) => {
    onSignal = (signal) => reject(new IngestInterrupted(signal, workflowId));
  });
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    interrupted,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
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
  const dataDir = options.dataDir ?? (await fetchMovieLens(settings.cacheDir));
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
    // Only "no such workflow" means "not ingested yet"; any other error (namespace, server,
    // permissions) is the user's to see, not a reason to produce the dataset again.
    const past = await client.workflow
      .getHandle(workflowId)
      .describe()
      .catch((error: unknown) => {
        if (error instanceof WorkflowNotFoundError) return undefined;
        throw error;
      });
    if (past?.status.name === 'COMPLETED') return await earlier();
    if (!options.inProcess) return await run();
    const consumers = await startConsumers(settings);
    // The worker stops on these signals by itself; this ends the wait for the workflow's result.
    const signals = interruption(workflowId);
    try {
      const outcome = Promise.race([run(), consumers.failed, signals.interrupted]);
      const result = (await runPipelineWorker(settings, outcome)) as IngestResult;
      await catalogIndexed(settings);
      return result;
    } finally {
      signals.dispose();
      await consumers.stop();
    }
  } finally {
    await client.connection.close();
  }
}

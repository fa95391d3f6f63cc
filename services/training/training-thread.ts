/**
 * The entry of a training thread: reads a snapshot and runs one training task, so the worker's
 * event loop (heartbeats, workflow tasks) never waits on numerical work.
 */
import { parentPort } from 'node:worker_threads';
import { encodeItemVectors } from '../catalog/item-vectors';
import { answerFromThread, threadTask } from '../concurrency/threads';
import { log } from '../observability/log';
import { encodeUserFiles, releaseFiles } from '../serving/release-loader';
import type { EntityTables } from '../store/entity-tables';
import { readColumnarTrainingSet } from '../store/training-set';
import {
  holdoutScore,
  holdoutSplit,
  snapshotMatrix,
  type TrainedRetrieval,
  trainRetrieval,
} from './candidate-training';
import type { TrainingConfig } from './config';
import { encodeContentMap } from './content-map-artifact';
import { trainSnapshotRanker } from './release-ranker';
import { buildServingTables, type ServingTableSources, type ServingTables } from './serving-tables';
import { openSnapshot } from './snapshot';
import { trainTwoTowerRelease } from './two-tower-release';

export type TrainingTask =
  | {
      task: 'holdout';
      snapshotDir: string;
      ials: TrainingConfig['ials'];
      holdoutSeed: number;
      threads: number;
    }
  | { task: 'retrieval'; snapshotDir: string; ials: TrainingConfig['ials']; threads: number }
  | {
      task: 'ranker';
      snapshotDir: string;
      ials: TrainingConfig['ials'];
      holdoutSeed: number;
      threads: number;
    }
  | { task: 'two-tower'; snapshotDir: string; holdoutSeed: number; threads: number };

/**
 * A release's retrieval files (vectors, users, serving tables), encoded on this thread: decoding
 * a million-item model posted as objects, and encoding it, would block the worker's event loop
 * past its heartbeat timeout, and the retried activity would start its training over.
 */
export interface TrainedReleaseFiles {
  files: Record<string, Uint8Array>;
  dims: number;
  similarity: TrainedRetrieval['items']['similarity'];
  fitSeconds: number;
}

const encoder = new TextEncoder();

function releaseFilesOf(
  { items, users }: TrainedRetrieval,
  tables: ServingTables,
): Record<string, Uint8Array> {
  return {
    ...encodeItemVectors(items),
    ...encodeUserFiles(users),
    ...(tables.neighbours === undefined
      ? {}
      : { [releaseFiles.neighbours]: encoder.encode(JSON.stringify(tables.neighbours)) }),
    [releaseFiles.cohortPopularity]: encoder.encode(JSON.stringify(tables.cohortPopularity)),
    ...(tables.contentMap === undefined ? {} : encodeContentMap(tables.contentMap)),
  };
}

/** The store's own view of users and items, partial demographics and item text included. */
function sideInformation(store: EntityTables): Pick<ServingTableSources, 'demographics' | 'content'> {
  return {
    demographics: new Map(store.userIds.map((id, user) => [id, store.userDemographics[user]])),
    content: new Map(
      store.itemIds.map((id, item) => [
        id,
        {
          ...store.itemContent[item],
          categories: store.itemCategories[item].map((c) => store.categoryNames[c]),
        },
      ]),
    ),
  };
}

/** Each step's time goes to the log, so a slow retrain shows where its time went. */
async function timed<T>(task: TrainingTask['task'], step: string, work: () => T | Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  log.info({ task, step, seconds: (performance.now() - started) / 1000 }, 'training step');
  return result;
}

/** Logs each iALS epoch's time: at scale a fit is most of a retrain. */
function epochLog(task: TrainingTask['task']): (epoch: number, seconds: number) => void {
  return (epoch, seconds) => log.info({ task, step: `ials epoch ${epoch + 1}`, seconds }, 'training step');
}

async function run(task: TrainingTask): Promise<unknown> {
  const store = await timed(task.task, 'open snapshot', () => openSnapshot(task.snapshotDir));
  const training = await timed(task.task, 'read columns', () => readColumnarTrainingSet(store));
  const { interactions } = training;
  const side = sideInformation(store);
  await store.close();
  if (task.task === 'holdout')
    return timed(task.task, 'split, fit, score', () =>
      holdoutScore(interactions, task.ials, task.holdoutSeed, task.threads, epochLog(task.task)),
    );
  if (task.task === 'two-tower')
    return timed(task.task, 'two-tower', () =>
      trainTwoTowerRelease(
        () => ({
          snapshot: snapshotMatrix(interactions),
          holdout: holdoutSplit(interactions, task.holdoutSeed),
        }),
        { demographics: training.demographics, content: training.itemContent },
        task.holdoutSeed,
        task.threads,
        (step, seconds) => log.info({ task: task.task, step, seconds }, 'training step'),
      ),
    );
  if (task.task === 'ranker')
    return timed(task.task, 'ranker', () =>
      trainSnapshotRanker(training, task.ials, task.holdoutSeed, task.threads),
    );
  const trained = await timed(task.task, 'matrix, fit', () =>
    trainRetrieval(interactions, task.ials, task.threads, epochLog(task.task)),
  );
  const tables = await timed(task.task, 'serving tables', () =>
    buildServingTables({ items: trained.items, users: trained.users, ...side }),
  );
  const release: TrainedReleaseFiles = {
    files: await timed(task.task, 'encode files', () => releaseFilesOf(trained, tables)),
    dims: trained.items.dims,
    similarity: trained.items.similarity,
    fitSeconds: trained.fitSeconds,
  };
  return release;
}

const parent = parentPort;
if (parent !== null)
  answerFromThread((answer) => parent.postMessage(answer), run(threadTask<TrainingTask>()));

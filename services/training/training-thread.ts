/**
 * The entry of a training thread: reads a snapshot and runs one training task, so the worker's
 * event loop (heartbeats, workflow tasks) never waits on numerical work.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { answerFromThread } from '../concurrency/threads';
import { InteractionStore } from '../store/interaction-store';
import { readColumnarTrainingSet } from '../store/training-set';
import { holdoutScore, type TrainedRetrieval, trainRetrieval } from './candidate-training';
import type { TrainingConfig } from './config';
import { trainSnapshotRanker } from './release-ranker';
import { buildServingTables, type ServingTableSources, type ServingTables } from './serving-tables';

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
    };

/** A release: the retrieval model and the tables serving reads besides its vectors. */
export interface TrainedReleaseModels extends TrainedRetrieval {
  tables: ServingTables;
}

/** The store's own view of users and items, partial demographics and item text included. */
function sideInformation(store: InteractionStore): Pick<ServingTableSources, 'demographics' | 'content'> {
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

async function run(task: TrainingTask): Promise<unknown> {
  const store = await InteractionStore.open(task.snapshotDir);
  const training = await readColumnarTrainingSet(store);
  const { interactions } = training;
  const side = sideInformation(store);
  await store.close();
  if (task.task === 'holdout') return holdoutScore(interactions, task.ials, task.holdoutSeed, task.threads);
  if (task.task === 'ranker') return trainSnapshotRanker(training, task.ials, task.holdoutSeed, task.threads);
  const trained = await trainRetrieval(interactions, task.ials, task.threads);
  const release: TrainedReleaseModels = {
    ...trained,
    tables: buildServingTables({ items: trained.items, users: trained.users, ...side }),
  };
  return release;
}

const parent = parentPort;
if (parent !== null)
  answerFromThread((answer) => parent.postMessage(answer), run(workerData as TrainingTask));

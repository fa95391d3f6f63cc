/**
 * The entry of a training thread: reads a snapshot and runs one training task, so the worker's
 * event loop (heartbeats, workflow tasks) never waits on numerical work.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { answerFromThread } from '../concurrency/threads';
import { InteractionStore } from '../store/interaction-store';
import { readTrainingSet } from '../store/training-set';
import { holdoutScore, trainRetrieval } from './candidate-training';
import type { TrainingConfig } from './config';

export type TrainingTask =
  | {
      task: 'holdout';
      snapshotDir: string;
      ials: TrainingConfig['ials'];
      holdoutSeed: number;
      threads: number;
    }
  | { task: 'retrieval'; snapshotDir: string; ials: TrainingConfig['ials']; threads: number };

async function run(task: TrainingTask): Promise<unknown> {
  const store = await InteractionStore.open(task.snapshotDir);
  const { interactions, items } = await readTrainingSet(store);
  await store.close();
  return task.task === 'holdout'
    ? holdoutScore(interactions, task.ials, task.holdoutSeed, task.threads)
    : trainRetrieval(interactions, items, task.ials, task.threads);
}

const parent = parentPort;
if (parent !== null)
  answerFromThread((answer) => parent.postMessage(answer), run(workerData as TrainingTask));

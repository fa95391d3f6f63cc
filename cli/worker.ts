/** The composition root of the pipeline worker: builds clients, wires activities, runs. */
import { Worker } from '@temporalio/worker';
import { createMovieLensActivities } from '../activities/movielens';
import { searchClient } from '../services/catalog/elasticsearch';
import type { CairnSettings } from '../services/config/environment';
import { kafkaClient } from '../services/events/kafka';
import { namespaceOf, workerConnection } from '../services/orchestration/temporal';
import { temporalConfig } from '../temporal.config';

export async function createPipelineWorker(settings: CairnSettings): Promise<Worker> {
  const activities = {
    ...createMovieLensActivities({
      kafka: kafkaClient(settings, 'cairn-worker'),
      search: searchClient(settings),
    }),
  };
  return Worker.create({
    connection: await workerConnection(settings),
    namespace: namespaceOf(settings),
    taskQueue: temporalConfig.taskQueues.pipeline,
    workflowsPath: require.resolve('../workflows'),
    activities,
  });
}

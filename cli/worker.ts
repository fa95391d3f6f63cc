/** The composition root of the pipeline worker: builds clients, wires activities, runs. */
import { Worker } from '@temporalio/worker';
import { createIngestActivities } from '../activities/ingest';
import type { CairnSettings } from '../services/config/environment';
import { kafkaClient } from '../services/events/kafka';
import { namespaceOf, workerConnection } from '../services/orchestration/temporal';

export async function createPipelineWorker(settings: CairnSettings): Promise<Worker> {
  const kafka = kafkaClient(settings, 'cairn-worker');
  const activities = {
    ...createIngestActivities({
      kafka,
      topics: settings.topics,
      partitions: settings.env.CAIRN_TOPIC_PARTITIONS,
      storeGroupId: settings.consumerGroups.store,
    }),
  };
  return Worker.create({
    connection: await workerConnection(settings),
    namespace: namespaceOf(settings),
    taskQueue: settings.pipelineTaskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities,
  });
}

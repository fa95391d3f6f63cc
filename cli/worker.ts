/**
 * The composition root of the pipeline worker: builds the clients, wires every activity, and
 * owns their lifetime (they close when the worker stops).
 */
import { Worker } from '@temporalio/worker';
import { createBackfillActivities } from '../activities/backfill';
import { createEmailActivities } from '../activities/email';
import { createIngestActivities } from '../activities/ingest';
import { createLifecycleActivities } from '../activities/lifecycle';
import { createReproductionActivities } from '../activities/reproduction';
import { createRetrainActivities } from '../activities/retrain';
import { createTrainingShardActivities } from '../activities/training-shards';
import { searchClient } from '../services/catalog/elasticsearch';
import type { CairnSettings } from '../services/config/environment';
import { natsConnection } from '../services/config/nats-connection';
import { kafkaClient } from '../services/events/kafka';
import { openBudgetBucket } from '../services/lifecycle/exploration-budget';
import { explorationBucket } from '../services/lifecycle/lifecycle-names';
import { namespaceOf, workerConnection, workerDataConverter } from '../services/orchestration/temporal';
import { workflowBundle } from '../services/orchestration/workflow-bundle';
import { openModelRegistry } from '../services/registry/model-registry';
import { openTrainingStore, trainingBucket, trainingTaskQueue } from '../services/training/fan-out-store';
import { temporalConfig } from '../temporal.config';

/** Runs a pipeline worker until `until` settles (or, without it, until the process is signalled). */
export async function runPipelineWorker<T>(
  settings: CairnSettings,
  until?: Promise<T>,
): Promise<T | undefined> {
  const kafka = kafkaClient(settings, 'cairn-worker');
  const search = searchClient(settings);
  const nats = await natsConnection(settings);
  const connection = await workerConnection(settings);
  let email: ReturnType<typeof createEmailActivities> | undefined;
  try {
    const registry = await openModelRegistry(nats, settings.registryBucket);
    email = createEmailActivities({
      kafka,
      search,
      registry,
      topics: settings.topics,
      itemsAlias: settings.itemsAlias,
      prefix: settings.prefix,
      snapshotsDir: settings.snapshotsDir,
    });
    const activities = {
      ...email.activities,
      ...createIngestActivities({
        kafka,
        topics: settings.topics,
        partitions: settings.env.CAIRN_TOPIC_PARTITIONS,
        storeGroupId: settings.consumerGroups.store,
      }),
      ...createBackfillActivities({
        search,
        registry,
        catalogIndex: settings.catalogIndex,
      }),
      ...createRetrainActivities({
        registry,
        storeDir: settings.storeDir,
        snapshotsDir: settings.snapshotsDir,
        snapshotsKeep: settings.snapshotsKeep,
      }),
      ...createReproductionActivities({
        kafka,
        topics: settings.topics,
        groupPrefix: settings.consumerGroups.store,
        registry,
        snapshotsDir: settings.snapshotsDir,
      }),
      ...createLifecycleActivities({
        search,
        registry,
        budgets: await openBudgetBucket(nats, explorationBucket(settings)),
        catalogIndex: settings.catalogIndex,
        itemsAlias: settings.itemsAlias,
      }),
    };
    const worker = await Worker.create({
      connection,
      namespace: namespaceOf(settings),
      taskQueue: settings.pipelineTaskQueue,
      workflowBundle: await workflowBundle(settings.cacheDir),
      activities,
      ...temporalConfig.worker,
      dataConverter: workerDataConverter,
    });
    return await runUntil(worker, until);
  } finally {
    await email?.close();
    await connection.close();
    await nats.close();
    await search.close();
  }
}

/** Runs the worker until `until` settles or, without it, until the process is signalled. */
async function runUntil<T>(worker: Worker, until?: Promise<T>): Promise<T | undefined> {
  if (until === undefined) {
    await worker.run();
    return undefined;
  }
  return worker.runUntil(until);
}

/**
 * Runs a training worker until `until` settles (or until signalled): it polls the training task
 * queue for iALS shards, one at a time, since a shard keeps a core busy. Add one per machine (or
 * per core) to spread fanned-out training.
 */
export async function runTrainingWorker<T>(
  settings: CairnSettings,
  until?: Promise<T>,
): Promise<T | undefined> {
  const nats = await natsConnection(settings);
  const connection = await workerConnection(settings);
  try {
    const worker = await Worker.create({
      connection,
      namespace: namespaceOf(settings),
      taskQueue: trainingTaskQueue(settings),
      activities: createTrainingShardActivities({
        store: await openTrainingStore(nats, trainingBucket(settings)),
      }),
      ...temporalConfig.worker,
      maxConcurrentActivityTaskExecutions: 1,
      dataConverter: workerDataConverter,
    });
    return await runUntil(worker, until);
  } finally {
    await connection.close();
    await nats.close();
  }
}

/**
 * `cairn serve`: a serving replica hosted by Temporal. This process runs a worker on the
 * replica's own task queue and starts (or replaces) the replica's `serving` workflow, whose
 * long activity answers `cairn.recommend.v1` here. SIGINT/SIGTERM shut the worker down: the
 * activity drains in-flight requests and impressions, and its lifetime's counters are recorded.
 */
import { hostname } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import { Client as SearchClient } from '@elastic/elasticsearch';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createServingActivities } from '../activities/serving';
import type { CairnSettings } from '../services/config/environment';
import { natsConnection } from '../services/config/nats-connection';
import { kafkaClient } from '../services/events/kafka';
import { ExplorationBudget } from '../services/lifecycle/exploration-budget';
import { explorationBucket } from '../services/lifecycle/lifecycle-names';
import { log } from '../services/observability/log';
import { serveMetrics } from '../services/observability/metrics-endpoint';
import {
  namespaceOf,
  temporalClient,
  workerConnection,
  workerDataConverter,
} from '../services/orchestration/temporal';
import { realtimeConfig, sessionBucket } from '../services/realtime/realtime-config';
import { SessionView } from '../services/realtime/session-store';
import { openModelRegistry } from '../services/registry/model-registry';
import { readPinnedReleases } from '../services/serving/release-loader';
import { replicaAddresses } from '../services/serving/replica';
import {
  parseServingConfig,
  readServingConfig,
  type ServingConfig,
} from '../services/serving/serving-config';
import { temporalConfig } from '../temporal.config';

export interface ServeOptions {
  configFile?: string;
  /** Names the replica: its workflow id and task queue. Default: the host name. */
  replica?: string;
}

export function servingIdentity(settings: CairnSettings, replica: string) {
  return {
    workflowId: `${settings.prefix}${temporalConfig.workflowIds.serving}-${replica}`,
    taskQueue: `${settings.prefix}${temporalConfig.taskQueues.serving}-${replica}`,
  };
}

/**
 * A restarted replica joins its running workflow, so the lifetime a dead process left behind is
 * retried here by Temporal; a replica started with another config replaces the run instead (the
 * old run's history keeps its lifetimes).
 */
async function joinServingWorkflow(
  client: Client,
  {
    workflowId,
    taskQueue,
    config,
    replica,
  }: { workflowId: string; taskQueue: string; config: ServingConfig; replica: string },
): Promise<void> {
  const start = (workflowIdConflictPolicy: 'USE_EXISTING' | 'TERMINATE_EXISTING') =>
    client.workflow.start('serving', {
      workflowId,
      taskQueue,
      args: [{ config, replica }],
      memo: { config },
      workflowIdConflictPolicy,
    });
  const handle = await start('USE_EXISTING');
  const running = (await handle.describe()).memo?.config;
  if (!isDeepStrictEqual(running, config)) await start('TERMINATE_EXISTING');
}

export async function runServe(settings: CairnSettings, options: ServeOptions = {}): Promise<number> {
  const config =
    options.configFile === undefined ? parseServingConfig({}) : await readServingConfig(options.configFile);
  const replica = options.replica ?? hostname();
  const { workflowId, taskQueue } = servingIdentity(settings, replica);
  // Before the worker's connection: the Temporal runtime takes its metrics exporter only then.
  const metrics = await serveMetrics(settings, { temporal: true });
  const nc = await natsConnection(settings);
  // One search may take at most the request's budget: a longer client time-out only holds sockets.
  const search = new SearchClient({
    node: settings.elasticsearchUrl,
    requestTimeout: config.deadlineMs,
    maxRetries: 0,
  });
  const kafka = kafkaClient(settings, `cairn-serve-${replica}`);
  const sessions = await SessionView.open(nc, sessionBucket(settings), realtimeConfig.sessionTtlMs);
  const budget = await ExplorationBudget.open(nc, explorationBucket(settings), {
    leaseSize: temporalConfig.lifecycle.leaseImpressions,
    refillBelow: temporalConfig.lifecycle.refillBelow,
  });
  const connection = await workerConnection(settings);
  const client = await temporalClient(settings);
  try {
    const registry = await openModelRegistry(nc, settings.registryBucket);
    // Refused here, with the reason on the terminal, before a workflow is started that would fail.
    await readPinnedReleases(registry, config);
    const worker = await Worker.create({
      connection,
      namespace: namespaceOf(settings),
      taskQueue,
      workflowsPath: require.resolve('../workflows'),
      dataConverter: workerDataConverter,
      activities: createServingActivities({
        nc,
        search,
        kafka,
        registry,
        ...replicaAddresses(settings),
        sessions,
        budget,
      }),
    });
    await joinServingWorkflow(client, { workflowId, taskQueue, config, replica });
    log.info({ subject: settings.recommendSubject, replica, workflowId }, 'serving');
    // The Temporal runtime shuts the worker down on SIGINT/SIGTERM; run() returns once drained.
    await worker.run();
    log.info({ replica }, 'replica drained and stopped');
    return 0;
  } finally {
    // After the worker's drain: the leases this replica still holds go back to the bucket.
    await budget.close();
    await sessions.close();
    await client.connection.close();
    await connection.close();
    await nc.drain();
    await search.close();
    await metrics?.close();
  }
}

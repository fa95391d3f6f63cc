/**
 * `cairn serve`: a serving replica hosted by Temporal. This process runs a worker on the
 * replica's own task queue and starts (or replaces) the replica's `serving` workflow, whose
 * long activity answers `cairn.recommend.v1` here. SIGINT/SIGTERM shut the worker down: the
 * activity drains in-flight requests and impressions, and its lifetime's counters are recorded.
 */
import { hostname } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import { Client as SearchClient } from '@elastic/elasticsearch';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { createServingActivities } from '../activities/serving';
import { waitFor } from '../bench/chaos/wait';
import { type CairnSettings, ConfigError } from '../services/config/environment';
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
import { workflowBundle } from '../services/orchestration/workflow-bundle';
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
  /**
   * Another subject than cairn.recommend.v1 and another impressions topic: a shadow deployment,
   * which a caller mirrors requests to and whose slates are never shown, so never logged as shown.
   */
  subject?: string;
  impressionsTopic?: string;
}

export function servingIdentity(settings: CairnSettings, replica: string) {
  return {
    workflowId: `${settings.prefix}${temporalConfig.workflowIds.serving}-${replica}`,
    taskQueue: `${settings.prefix}${temporalConfig.taskQueues.serving}-${replica}`,
  };
}

/**
 * Until every replica's serving activity listens: its heartbeat carries the replica's counters
 * from then on, and only `{ starting: true }` before. One answer on the subject proves only one.
 */
export async function untilReplicasListen(
  settings: CairnSettings,
  replicas: string[],
  withinMs: number,
  { failedStart = 'retry' }: { failedStart?: 'retry' | 'throw' } = {},
): Promise<void> {
  const client = await temporalClient(settings);
  try {
    for (const replica of replicas) {
      const handle = client.workflow.getHandle(servingIdentity(settings, replica).workflowId);
      await waitFor(
        async () => {
          // Not found: the replica has not started its workflow yet.
          const described = await handle.describe().catch((error: unknown) => {
            if (error instanceof WorkflowNotFoundError) return undefined;
            throw error;
          });
          if (described === undefined) return false;
          const lifetime = described.raw.pendingActivities?.[0];
          // A lifetime that failed before it listened (a release this version cannot load) is
          // retried by Temporal for as long as the workflow runs; a caller with another way out
          // hears the reason at once.
          const failure = lifetime?.lastFailure?.message;
          if (failedStart === 'throw' && typeof failure === 'string' && failure !== '')
            throw new Error(`replica ${replica} failed to start: ${failure}`);
          const payload = lifetime?.heartbeatDetails?.payloads?.[0];
          if (payload === undefined) return false;
          const details = defaultPayloadConverter.fromPayload(payload) as { starting?: boolean };
          return details.starting !== true;
        },
        { what: `replica ${replica} to listen`, timeoutMs: withinMs, pollMs: 500 },
      );
    }
  } finally {
    await client.connection.close();
  }
}

/**
 * Ends the replicas' serving workflows once their processes are gone: a workflow whose replica
 * will not come back would wait on the server for a worker, retrying its lifetime.
 */
export async function endServing(
  client: Client,
  settings: CairnSettings,
  replicas: string[],
  reason: string,
) {
  for (const replica of replicas)
    await client.workflow
      .getHandle(servingIdentity(settings, replica).workflowId)
      .terminate(reason)
      .catch((error: unknown) => {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      });
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
  // Literal names only: a wildcard subject would answer requests meant for other services.
  if (options.subject !== undefined && !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(options.subject))
    throw new ConfigError(
      `--subject '${options.subject}': a NATS subject of dot-separated tokens, no wildcards`,
    );
  if (options.impressionsTopic !== undefined && !/^[A-Za-z0-9._-]{1,249}$/.test(options.impressionsTopic))
    throw new ConfigError(`--impressions-topic '${options.impressionsTopic}': not a Kafka topic name`);
  const defaults = replicaAddresses(settings);
  const addresses = {
    ...defaults,
    subject: options.subject ?? defaults.subject,
    topics: { ...defaults.topics, impressions: options.impressionsTopic ?? defaults.topics.impressions },
  };
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
      workflowBundle: await workflowBundle(settings.cacheDir),
      dataConverter: workerDataConverter,
      activities: createServingActivities({
        nc,
        search,
        kafka,
        registry,
        ...addresses,
        sessions,
        budget,
      }),
    });
    await joinServingWorkflow(client, { workflowId, taskQueue, config, replica });
    log.info({ subject: addresses.subject, replica, workflowId }, 'serving');
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

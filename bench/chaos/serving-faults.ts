/**
 * Faults under serving load: a `cairn serve` process (its Temporal worker and serving workflow,
 * as deployed) answers recommend requests at a fixed rate while a private server it depends on
 * fails. The release is published straight to the registry (bench/data/published-release), so
 * no training run is needed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { servingIdentity } from '../../cli/serve';
import type { ServerName } from '../../deploy/local/servers';
import type { RecommendResponse } from '../../schemas/recommend';
import { searchClient } from '../../services/catalog/elasticsearch';
import { createVectorIndex, finishLoading, writeVectors } from '../../services/catalog/vector-index';
import { releaseVectorSpace } from '../../services/catalog/vector-space';
import { exited, spawnCairn } from '../../services/config/cairn-process';
import { natsConnection } from '../../services/config/nats-connection';
import type { ScratchSettings } from '../../services/config/scratch-namespace';
import { syntheticItems } from '../../services/data/synthetic';
import { temporalClient } from '../../services/orchestration/temporal';
import { openModelRegistry } from '../../services/registry/model-registry';
import { readRelease } from '../../services/serving/release-loader';
import type { ServingConfigInput } from '../../services/serving/serving-config';
import { retrievalFamily } from '../../services/training/families';
import { publishedData, publishedNamespace } from '../data/published-release';
import { type FaultReport, type LoadOptions, measuredReport } from './fault-report';
import { auditImpressions } from './impression-audit';
import { type PrivateServer, startPrivateStack } from './private-stack';
import { requestLoad } from './request-load';
import { waitFor } from './wait';

export interface ServingFaultOptions extends LoadOptions {
  /** The caller's budget: a request not answered within it failed. */
  timeoutMs: number;
  /** How long the server stays down (killed) or hung (frozen). */
  downMs: number;
  /** "After" is the requests sent from this long after the server is healthy again. */
  settleMs: number;
}

export const servingFaultDefaults: Omit<ServingFaultOptions, 'log'> = {
  // Low enough that the replica keeps up on the shared 2-core machine, so that what fails is the fault's doing.
  rate: 20,
  timeoutMs: 2_000,
  leadMs: 5_000,
  downMs: 10_000,
  afterMs: 15_000,
  settleMs: 5_000,
};

/** How the fault is done to the server, and undone. */
interface Injection {
  words: string;
  inject(server: PrivateServer): void;
  recover(server: PrivateServer): Promise<void>;
}

const killed: Injection = {
  words: 'SIGKILLed, then restarted',
  inject: (server) => server.kill(),
  recover: (server) => server.restart(),
};

const frozen: Injection = {
  words: 'SIGSTOPped, then SIGCONT',
  inject: (server) => server.freeze(),
  async recover(server) {
    server.thaw();
  },
};

/** Elasticsearch down: answers keep coming within the budget from the in-process search, marked degraded. */
export const elasticsearchKilled = (options: ServingFaultOptions) =>
  servingFault('es-killed', 'elasticsearch', killed, options);

/** Elasticsearch hung: every search waits out its budget, then the in-process search answers. */
export const elasticsearchFrozen = (options: ServingFaultOptions) =>
  servingFault('es-frozen', 'elasticsearch', frozen, options);

/** NATS restarted: the replica and the caller reconnect; errors only while it is down. */
/** Temporal restarted (its state on disk): the serving workflow runs on, and requests never needed it. */
export const temporalRestarted = (options: ServingFaultOptions) =>
  servingFault('temporal-restart', 'temporal', killed, options);

export const natsRestarted = (options: ServingFaultOptions) =>
  servingFault('nats-restart', 'nats', killed, options);

/**
 * The serving config of the fault: Elasticsearch kNN even for the small published catalog (so
 * that its failure is exercised), within a search budget the busy shared machine can meet.
 */
const servingConfig: ServingConfigInput = {
  search: 'elasticsearch',
  searchBudgetMs: 1_000,
  searchCooldownMs: 2_000,
  deadlineMs: 1_500,
};

async function servingFault(
  fault: string,
  serverName: ServerName,
  injection: Injection,
  options: ServingFaultOptions,
): Promise<FaultReport> {
  options.log(`${fault}: starting a private ${serverName}`);
  const stack = await startPrivateStack([serverName]);
  try {
    const settings = await publishedNamespace('chaos');
    try {
      await indexReleaseVectors(settings);
      return await underLoad(fault, settings, stack.server(serverName), injection, options);
    } finally {
      await settings.cleanup();
    }
  } finally {
    await stack.remove();
  }
}

/** What the release's backfill would have written: its item vectors in their own index. */
async function indexReleaseVectors(settings: ScratchSettings): Promise<void> {
  const nc = await natsConnection(settings);
  const search = searchClient(settings);
  try {
    const registry = await openModelRegistry(nc, settings.registryBucket);
    const champion = await registry.champion(retrievalFamily);
    if (champion === undefined) throw new Error('the published namespace has no champion');
    const release = await readRelease(registry, champion);
    const categories = new Map([...syntheticItems(publishedData)].map((i) => [i.itemId, i.categories]));
    const index = await createVectorIndex(search, {
      alias: settings.itemsAlias,
      version: `${champion.family}-${champion.version}`,
      ...releaseVectorSpace({
        dims: release.dims,
        similarity: 'max_inner_product',
        vectors: release.itemVectors,
      }),
    });
    await writeVectors(
      search,
      index,
      release.itemIds.map((itemId, row) => ({
        itemId,
        categories: categories.get(itemId) ?? [],
        status: 'active',
        vector: Array.from(release.itemVectors.subarray(row * release.dims, (row + 1) * release.dims)),
      })),
    );
    const count = await finishLoading(search, index, release.itemIds);
    if (count !== release.itemIds.length)
      throw new Error(`${count} of ${release.itemIds.length} item vectors indexed`);
  } finally {
    await search.close();
    await nc.close();
  }
}

async function underLoad(
  fault: string,
  settings: ScratchSettings,
  server: PrivateServer,
  injection: Injection,
  options: ServingFaultOptions,
): Promise<FaultReport> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-chaos-serve-'));
  const configFile = join(dir, 'serving.json');
  await writeFile(configFile, JSON.stringify(servingConfig));
  const replica = 'chaos';
  const serve = spawnCairn(settings, ['serve', '--config', configFile, '--replica', replica]);
  // The caller keeps reconnecting as long as the load runs, as a front end would.
  const nc = await natsConnection(settings, { maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  try {
    await untilServing(nc, settings, serve);
    const load = requestLoad(nc, {
      subject: settings.recommendSubject,
      rate: options.rate,
      timeoutMs: options.timeoutMs,
      users: publishedData.userCount,
    });
    try {
      await sleep(options.leadMs);
      const injectedAt = performance.now();
      options.log(`${fault}: ${injection.words.split(',')[0]} after ${load.started()} requests`);
      injection.inject(server);
      await sleep(options.downMs);
      await injection.recover(server);
      const recoveredAt = performance.now();
      options.log(`${fault}: healthy again after ${((recoveredAt - injectedAt) / 1000).toFixed(1)} s`);
      await sleep(options.afterMs);
      const stoppedAt = performance.now();
      const samples = await load.stop();
      if (serve.exitCode !== null) throw new Error(`cairn serve exited (${serve.exitCode}) during the fault`);
      const workflow = await servingWorkflowState(settings, replica);
      // Drained, the replica has sent its last impressions.
      await stopServing(settings, serve, replica);
      const impressions = await auditImpressions(settings, samples);
      return measuredReport(
        fault,
        `${options.rate} recommend req/s over NATS, ${samples.length} requests; ${injection.words} after ${(options.downMs / 1000).toFixed(0)} s`,
        samples,
        { injectedAt, recoveredAt, stoppedAt, settleMs: options.settleMs },
        impressions.audit,
        [
          `the server was healthy again ${((recoveredAt - injectedAt) / 1000).toFixed(1)} s after the fault; "after" = requests sent from ${options.settleMs / 1000} s after that; a request fails when not answered ok within ${options.timeoutMs} ms`,
          `afterwards the ${workflow}`,
          `${impressions.note}; events lost and duplicates are these impressions`,
        ],
      );
    } finally {
      await load.stop();
    }
  } finally {
    await stopServing(settings, serve, replica);
    await nc.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function untilServing(
  nc: NatsConnection,
  settings: ScratchSettings,
  serve: ReturnType<typeof spawnCairn>,
): Promise<void> {
  await waitFor(
    async () => {
      if (serve.exitCode !== null) throw new Error(`cairn serve exited (${serve.exitCode}) while starting`);
      try {
        const reply = await nc.request(settings.recommendSubject, '{"userId":"su1"}', { timeout: 1_000 });
        return (JSON.parse(reply.string()) as RecommendResponse).ok;
      } catch {
        return false;
      }
    },
    { what: 'cairn serve to answer', timeoutMs: 120_000, pollMs: 500 },
  );
}

/** The serving workflow's status and its serving activity's attempt, in words. */
async function servingWorkflowState(settings: ScratchSettings, replica: string): Promise<string> {
  const client = await temporalClient(settings);
  try {
    const handle = client.workflow.getHandle(servingIdentity(settings, replica).workflowId);
    const description = await handle.describe();
    const attempts = (description.raw.pendingActivities ?? []).map((a) => a.attempt ?? 1);
    return `serving workflow is ${description.status.name}, its serving activity on attempt ${attempts.join(', ') || 'none'}`;
  } finally {
    await client.connection.close();
  }
}

/** SIGTERM drains the replica; its serving workflow would then start the next lifetime, so it is ended. */
async function stopServing(
  settings: ScratchSettings,
  serve: ReturnType<typeof spawnCairn>,
  replica: string,
): Promise<void> {
  serve.kill('SIGTERM');
  const stopped = await Promise.race([exited(serve).then(() => true), sleep(30_000, false)]);
  if (!stopped) serve.kill('SIGKILL');
  const client = await temporalClient(settings);
  try {
    await client.workflow
      .getHandle(servingIdentity(settings, replica).workflowId)
      .terminate('chaos fault done')
      .catch(() => undefined);
  } finally {
    await client.connection.close();
  }
}

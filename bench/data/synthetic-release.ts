/**
 * A large synthetic catalog to serve: the clustered item vectors `cairn bench backfill` indexes
 * (same generator and seed), published as a retrieval release with a few thousand users, written
 * into its own kNN index by the embedding backfill workflow, and promoted.
 *
 * Building a 1M-item index takes many minutes, so the namespace is fixed per catalog size and
 * kept: a later run that finds the champion and its index complete reuses them. Each user's
 * vector is one item's vector (users spread over the clusters, as queries do) and their history
 * a few items, which the kNN query excludes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPipelineWorker } from '../../cli/worker';
import { searchClient } from '../../services/catalog/elasticsearch';
import { encodeItemVectors } from '../../services/catalog/item-vectors';
import { indexName, vectorSpaceOf } from '../../services/catalog/vector-index';
import { type CairnSettings, readSettings } from '../../services/config/environment';
import { natsConnection } from '../../services/config/nats-connection';
import { syntheticItemId, syntheticItemVectors } from '../../services/data/synthetic';
import { kafkaClient } from '../../services/events/kafka';
import { ensureTopics } from '../../services/events/topics';
import { mulberry32 } from '../../services/models/random';
import { temporalClient } from '../../services/orchestration/temporal';
import { openModelRegistry } from '../../services/registry/model-registry';
import { encodeUserFiles } from '../../services/serving/release-loader';
import { retrievalFamily } from '../../services/training/families';
import { temporalConfig } from '../../temporal.config';
import type { BackfillResult } from '../../workflows/embedding-backfill';

const dims = 64;
const users = 5_000;
const historyLength = 20;

export interface SyntheticServingCatalog {
  settings: CairnSettings;
  users: string[];
  items: string[];
  /** Whether this run built the index (false: a previous run's was reused). */
  built: boolean;
  /** Removes the run's own store directory; the catalog, its release and index stay. */
  cleanup(): Promise<void>;
}

export const syntheticUserId = (u: number) => `su${u}`;

export async function syntheticServingCatalog(
  itemCount: number,
  log: (line: string) => void,
): Promise<SyntheticServingCatalog> {
  const prefix = `benchsynthetic${itemCount}.`;
  const storeDir = await mkdtemp(join(tmpdir(), 'cairn-bench-store-'));
  const settings: CairnSettings = { ...readSettings({ ...process.env, CAIRN_PREFIX: prefix }), storeDir };
  const admin = kafkaClient(settings, 'cairn-bench-setup').admin();
  await admin.connect();
  await ensureTopics(admin, settings.topics, 4);
  await admin.disconnect();
  const version = `synthetic-${itemCount}`;
  const itemIds = Array.from({ length: itemCount }, (_, i) => syntheticItemId(i));
  const userIds = Array.from({ length: users }, (_, u) => syntheticUserId(u));
  const built = !(await isServable(settings, version, itemCount));
  if (built) {
    log(`building the ${itemCount}-item catalog in namespace ${prefix} (kept for later runs)`);
    await publishRelease(settings, version, itemIds, userIds);
    const started = performance.now();
    const client = await temporalClient(settings);
    const backfill = (await runPipelineWorker(
      settings,
      client.workflow.execute('embeddingBackfill', {
        taskQueue: settings.pipelineTaskQueue,
        workflowId: `${prefix}backfill-${version}`,
        args: [
          {
            family: retrievalFamily,
            version,
            alias: settings.itemsAlias,
            batchSize: temporalConfig.backfill.batchSize,
            batchesPerRun: temporalConfig.backfill.batchesPerRun,
            keep: temporalConfig.backfill.keepVersions,
            sample: temporalConfig.backfill.recallSampleQueries,
            // One graph to search: a search over 18 segments took 16-27 ms in Elasticsearch alone.
            mergeSegments: true,
          },
        ],
      }),
    )) as BackfillResult;
    await client.connection.close();
    log(
      `backfilled ${itemCount} items in ${((performance.now() - started) / 1000).toFixed(0)} s: ` +
        `${backfill.documents} documents, recall@100 ${backfill.recallAt100.toFixed(3)} ` +
        `over ${backfill.sampledQueries} queries, ${backfill.segments ?? '?'} segments`,
    );
    const nats = await natsConnection(settings);
    await (await openModelRegistry(nats, settings.registryBucket)).promote(retrievalFamily, version);
    await nats.close();
  } else {
    log(`reusing the ${itemCount}-item catalog in namespace ${prefix}`);
  }
  return {
    settings,
    users: userIds,
    items: itemIds,
    built,
    cleanup: () => rm(storeDir, { recursive: true, force: true }),
  };
}

async function isServable(settings: CairnSettings, version: string, itemCount: number): Promise<boolean> {
  const nats = await natsConnection(settings);
  const champion = await openModelRegistry(nats, settings.registryBucket)
    .then((registry) => registry.champion(retrievalFamily))
    .finally(() => nats.close());
  if (champion?.version !== version) return false;
  const search = searchClient(settings);
  try {
    const index = indexName(settings.itemsAlias, `${retrievalFamily}-${version}`);
    if (!(await search.indices.exists({ index }))) return false;
    // A catalog indexed before inner-product vectors were transformed is built again.
    if ((await vectorSpaceOf(search, index)).normBounds === undefined) return false;
    return (await search.count({ index })).count >= itemCount;
  } finally {
    await search.close();
  }
}

async function publishRelease(
  settings: CairnSettings,
  version: string,
  itemIds: string[],
  userIds: string[],
): Promise<void> {
  const itemVectors = syntheticItemVectors(itemIds.length, dims, 11);
  const random = mulberry32(13);
  const userVectors = new Float32Array(userIds.length * dims);
  const seen = userIds.map((_, u) => {
    const anchor = Math.floor(random() * itemIds.length);
    userVectors.set(itemVectors.subarray(anchor * dims, (anchor + 1) * dims), u * dims);
    return Array.from({ length: historyLength }, (_, n) =>
      n === 0 ? anchor : Math.floor(random() * itemIds.length),
    );
  });
  const nats = await natsConnection(settings);
  try {
    const registry = await openModelRegistry(nats, settings.registryBucket);
    await registry.publish(
      retrievalFamily,
      version,
      {
        ...encodeItemVectors({ ids: itemIds, dims, similarity: 'max_inner_product', vectors: itemVectors }),
        ...encodeUserFiles({ ids: userIds, vectors: userVectors, seen: seen }),
      },
      { dims, similarity: 'max_inner_product', config: { ials: { factors: dims, lambda: 5, alpha: 10 } } },
    );
  } finally {
    await nats.close();
  }
}

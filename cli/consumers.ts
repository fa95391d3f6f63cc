/** Runs the event-log consumers of this node: the store projector and the catalog indexer. */
import { CatalogIndexer } from '../services/catalog/catalog-indexer';
import { searchClient } from '../services/catalog/elasticsearch';
import type { CairnSettings } from '../services/config/environment';
import { kafkaClient } from '../services/events/kafka';
import { GroupInUseError, type ProjectionProgress, StoreProjector } from '../services/events/store-projector';
import { ensureTopics, eventStreams } from '../services/events/topics';
import { watchConsumerLag } from '../services/observability/consumer-lag';
import { log } from '../services/observability/log';
import { serveMetrics } from '../services/observability/metrics-endpoint';
import { InteractionStore } from '../services/store/interaction-store';

export interface RunningConsumers {
  store: InteractionStore;
  projector: StoreProjector;
  indexer: CatalogIndexer;
  /** Rejects when the consumers cannot go on (see StoreProjector.failed). */
  failed: Promise<never>;
  stop(): Promise<void>;
}

export async function startConsumers(
  settings: CairnSettings,
  onBatch?: (progress: ProjectionProgress) => void,
): Promise<RunningConsumers> {
  const kafka = kafkaClient(settings, 'cairn-consumers');
  const search = searchClient(settings);
  const admin = kafka.admin();
  await admin.connect();
  // Subscribing to a topic that does not exist fails; creating Cairn's topics is idempotent.
  await ensureTopics(admin, settings.topics, settings.env.CAIRN_TOPIC_PARTITIONS).finally(() =>
    admin.disconnect(),
  );
  const store = await InteractionStore.open(settings.storeDir);
  const projector = new StoreProjector({
    kafka,
    store,
    topics: settings.topics,
    groupId: settings.consumerGroups.store,
    onBatch,
  });
  const indexer = new CatalogIndexer(
    kafka,
    search,
    settings.topics,
    settings.catalogIndex,
    settings.consumerGroups.catalog,
  );
  // The projector first: it refuses a consumer group that another projector is using, and then
  // nothing of this node should start.
  try {
    await projector.start();
    await indexer.start();
  } catch (error) {
    await projector.stop();
    await store.close();
    await search.close();
    throw error;
  }
  return {
    store,
    projector,
    indexer,
    failed: projector.failed,
    async stop() {
      await Promise.all([projector.stop(), indexer.stop()]);
      await store.close();
      await search.close();
    },
  };
}

/**
 * `cairn consume`: the consumers, with this process's metrics endpoint and both groups' lag
 * (from the start: the catch-up of a new store is when the lag says most), until SIGINT/SIGTERM
 * or a failure of the projector. Batches are logged at debug: at info a line per batch would be
 * thousands a second under load, and the metrics count them.
 */
export async function runConsume(settings: CairnSettings): Promise<number> {
  const metrics = await serveMetrics(settings, { temporal: false });
  const lag =
    metrics === undefined
      ? undefined
      : await watchConsumerLag(kafkaClient(settings, 'cairn-consumers-lag'), [
          { groupId: settings.consumerGroups.store, topics: eventStreams.map((s) => settings.topics[s]) },
          { groupId: settings.consumerGroups.catalog, topics: [settings.topics.catalog] },
        ]);
  try {
    const consumers = await startConsumers(settings, (p) => log.debug({ ...p }, 'batch projected')).catch(
      (error: Error) => error,
    );
    if (consumers instanceof GroupInUseError) {
      log.error({ err: consumers }, 'cairn consume: the consumer group is in use');
      return 1;
    }
    if (consumers instanceof Error) throw consumers;
    log.info({ groups: settings.consumerGroups, store: settings.storeDir }, 'consuming');
    const interrupted = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    try {
      await Promise.race([interrupted, consumers.failed]);
    } finally {
      await consumers.stop();
    }
    log.info('consumers stopped');
    return 0;
  } finally {
    await lag?.stop();
    await metrics?.close();
  }
}

/** Runs the event-log consumers of this node: the store projector and the catalog indexer. */
import { CatalogIndexer } from '../services/catalog/catalog-indexer';
import { searchClient } from '../services/catalog/elasticsearch';
import type { CairnSettings } from '../services/config/environment';
import { kafkaClient } from '../services/events/kafka';
import { type ProjectionProgress, StoreProjector } from '../services/events/store-projector';
import { ensureTopics } from '../services/events/topics';
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

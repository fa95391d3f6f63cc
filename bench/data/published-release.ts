/**
 * A scratch namespace with what serving reads, without a training run: the synthetic catalog
 * and users on the event log, and a champion release published straight to the registry with
 * clustered item vectors and each user's vector the mean of their history's.
 */
import { connect } from '@nats-io/transport-node';
import { encodeItemVectors } from '../../services/catalog/item-vectors';
import { type ScratchSettings, scratchNamespace } from '../../services/config/scratch-namespace';
import {
  syntheticInteractions,
  syntheticItems,
  syntheticItemVectors,
  syntheticUsers,
} from '../../services/data/synthetic';
import { eventProducer, kafkaClient } from '../../services/events/kafka';
import { openModelRegistry } from '../../services/registry/model-registry';
import { encodeUserFiles } from '../../services/serving/release-loader';
import { retrievalFamily } from '../../services/training/families';

export const publishedData = { seed: 5, itemCount: 400, userCount: 300, interactionCount: 15_000 };
const dims = 16;

export async function publishedNamespace(label: string): Promise<ScratchSettings> {
  const settings = await scratchNamespace(label);
  const items = [...syntheticItems(publishedData)];
  const users = [...syntheticUsers(publishedData)];
  const producer = eventProducer(kafkaClient(settings, 'cairn-test-catalog'));
  await producer.connect();
  await producer.send({
    topic: settings.topics.catalog,
    messages: items.map((e) => ({ key: e.itemId, value: JSON.stringify(e) })),
  });
  await producer.send({
    topic: settings.topics.users,
    messages: users.map((e) => ({ key: e.userId, value: JSON.stringify(e) })),
  });
  await producer.disconnect();

  const itemIds = items.map((i) => i.itemId);
  const userIds = users.map((u) => u.userId);
  const itemRow = new Map(itemIds.map((id, i) => [id, i]));
  const userRow = new Map(userIds.map((id, u) => [id, u]));
  const seen = userIds.map(() => new Set<number>());
  for (const event of syntheticInteractions(publishedData)) {
    const u = userRow.get(event.userId);
    const i = itemRow.get(event.itemId);
    if (u !== undefined && i !== undefined) seen[u].add(i);
  }
  const itemVectors = syntheticItemVectors(itemIds.length, dims, 7, 16);
  const userVectors = new Float32Array(userIds.length * dims);
  seen.forEach((history, u) => {
    for (const i of history)
      for (let d = 0; d < dims; d++) userVectors[u * dims + d] += itemVectors[i * dims + d] / history.size;
  });
  const nats = await connect({ servers: settings.natsUrl });
  try {
    const registry = await openModelRegistry(nats, settings.registryBucket);
    const version = 'published-1';
    await registry.publish(
      retrievalFamily,
      version,
      {
        ...encodeItemVectors({ ids: itemIds, dims, similarity: 'max_inner_product', vectors: itemVectors }),
        ...encodeUserFiles({ ids: userIds, vectors: userVectors, seen: seen.map((s) => [...s]) }),
      },
      { dims, config: { ials: { factors: dims, lambda: 5, alpha: 10 } } },
    );
    await registry.promote(retrievalFamily, version);
  } finally {
    await nats.close();
  }
  return settings;
}

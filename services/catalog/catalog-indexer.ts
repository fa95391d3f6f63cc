/**
 * The consumer group that keeps the catalog index in Elasticsearch: one document per item, its
 * metadata and status. Effects are idempotent (document id = item id; a replay rewrites the same
 * fields in the same per-item order, which the item-keyed topic guarantees). Invalid events are
 * skipped here: the store projector owns dead-lettering.
 */
import type { Client } from '@elastic/elasticsearch';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { CatalogEvent } from '../../schemas/events';
import { SupervisedConsumer } from '../events/consumer-supervisor';
import type { TopicSet } from '../events/topics';
import { validateMessage } from '../events/validation';
import { ensureCatalogIndex } from './elasticsearch';

type BulkOperation = Record<string, unknown>;

export function catalogOperations(event: CatalogEvent, index: string): BulkOperation[] {
  const target = { _index: index, _id: event.itemId };
  switch (event.type) {
    case 'item_created':
      return [
        { index: target },
        {
          itemId: event.itemId,
          title: event.title,
          categories: event.categories,
          year: event.year,
          text: event.text,
          qualityFlags: event.qualityFlags,
          status: 'active',
          updatedAt: event.occurredAt,
        },
      ];
    case 'item_updated': {
      const { eventId: _e, itemId: _i, type: _t, occurredAt, ...changes } = event;
      return [{ update: target }, { doc: { ...changes, updatedAt: occurredAt } }];
    }
    case 'item_retired':
      return [{ update: target }, { doc: { status: 'retired', updatedAt: event.occurredAt } }];
    case 'item_blocked':
      return [{ update: target }, { doc: { status: 'blocked', updatedAt: event.occurredAt } }];
  }
}

export class CatalogIndexer {
  private consumer?: SupervisedConsumer;
  indexed = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly search: Client,
    private readonly topics: TopicSet,
    private readonly index: string,
    private readonly groupId: string,
  ) {}

  async start(): Promise<void> {
    await ensureCatalogIndex(this.search, this.index);
    // A crashed consumer is replaced and resumes from the group's commits: replays are harmless.
    this.consumer = new SupervisedConsumer({
      kafka: this.kafka,
      name: `catalog indexer (group ${this.groupId})`,
      config: { groupId: this.groupId },
      begin: async (consumer) => {
        await consumer.connect();
        await consumer.subscribe({ topic: this.topics.catalog, fromBeginning: true });
        await consumer.run({ autoCommit: false, eachBatch: (payload) => this.indexBatch(payload, consumer) });
      },
    });
    await this.consumer.start();
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
  }

  private async indexBatch({ batch, heartbeat }: EachBatchPayload, consumer: Consumer): Promise<void> {
    const operations: BulkOperation[] = [];
    for (const message of batch.messages) {
      const validation = validateMessage('catalog', message.value);
      if (validation.ok && validation.value.stream === 'catalog')
        operations.push(...catalogOperations(validation.value.event, this.index));
    }
    if (operations.length > 0) {
      const response = await this.search.bulk({ operations, refresh: 'wait_for' });
      if (response.errors) {
        // An update of an item that was never created is a reject the store projector reports;
        // anything else (mapping, cluster) must stop the commit so the batch is retried.
        const fatal = response.items.filter((i) => {
          const result = Object.values(i)[0];
          return result?.error !== undefined && result.status !== 404;
        });
        if (fatal.length > 0)
          throw new Error(`catalog bulk failed: ${JSON.stringify(Object.values(fatal[0])[0]?.error)}`);
      }
      this.indexed += operations.length / 2;
    }
    const last = batch.messages.at(-1);
    if (last !== undefined)
      await consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: String(BigInt(last.offset) + 1n) },
      ]);
    await heartbeat();
  }
}

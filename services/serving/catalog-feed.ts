/**
 * Keeps a replica's live catalog current: reads `cairn.catalog.v1` and `cairn.users.v1` from
 * the beginning (the log is the record; a replica holds no state of its own) and then follows
 * them, so a block reaches serving as soon as it is on the log. Each replica reads with its own
 * throw-away consumer group, since every replica needs every event.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { TopicSet } from '../events/topics';
import { validateMessage } from '../events/validation';
import type { LiveCatalog } from './live-catalog';

export class CatalogFeed {
  private consumer?: Consumer;
  private readonly groupId: string;
  /** Per topic and partition, the offset after the last applied message. */
  private readonly positions = new Map<string, bigint>();
  applied = 0;
  private crashed?: Error;

  constructor(
    private readonly kafka: Kafka,
    private readonly topics: TopicSet,
    private readonly catalog: LiveCatalog,
    groupPrefix: string,
    /** Users feed cohorts and interests; a reader that needs only the items leaves them out. */
    private readonly withUsers = true,
  ) {
    this.groupId = `${groupPrefix}cairn-serving-feed-${randomUUID().slice(0, 8)}`;
  }

  /** Starts following, and resolves once everything on the log at start has been applied. */
  async start(timeoutMs: number): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const targets = new Map<string, bigint>();
    try {
      for (const topic of this.followed())
        for (const p of await admin.fetchTopicOffsets(topic))
          if (BigInt(p.high) > BigInt(p.low)) targets.set(`${topic}/${p.partition}`, BigInt(p.high));
    } finally {
      await admin.disconnect();
    }
    const consumer = this.kafka.consumer({ groupId: this.groupId });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.crashed = payload.error;
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.followed(), fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const stream = batch.topic === this.topics.catalog ? 'catalog' : 'users';
        for (const message of batch.messages) {
          const validation = validateMessage(stream, message.value);
          if (validation.ok) {
            const { value } = validation;
            if (value.stream === 'catalog') this.catalog.apply(value.event);
            else if (value.stream === 'users') this.catalog.applyUser(value.event);
            this.applied++;
          }
          this.positions.set(`${batch.topic}/${batch.partition}`, BigInt(message.offset) + 1n);
        }
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (![...targets].every(([key, high]) => (this.positions.get(key) ?? 0n) >= high)) {
      this.assertHealthy();
      if (Date.now() > deadline)
        throw new Error(`catalog feed: not caught up with ${this.topics.catalog} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private followed(): string[] {
    return this.withUsers ? [this.topics.catalog, this.topics.users] : [this.topics.catalog];
  }

  /** A crashed feed would leave blocks unapplied: the owner fails and is restarted instead. */
  assertHealthy(): void {
    if (this.crashed !== undefined) throw new Error(`catalog feed crashed: ${this.crashed.message}`);
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    const admin = this.kafka.admin();
    await admin.connect();
    await admin.deleteGroups([this.groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

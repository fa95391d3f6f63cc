/**
 * Keeps every user's session current from `cairn.interactions.v1` (its own consumer group,
 * supervised: a crashed consumer is replaced and resumes from the group's commits). Per batch,
 * each user's session is read once, folded with the user's events in log order and written once.
 * Partitions are consumed concurrently and offsets committed once a second, off the path of a
 * click (a commit per batch put a broker round trip behind every click): a batch's offsets are
 * committed only after its writes, and the session's own per-partition offsets make what a
 * restart redelivers a no-op. Item categories come from the catalog, followed from the log.
 * Invalid messages are skipped: the store projector owns dead-lettering.
 */
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { EachBatchPayload, Kafka } from 'kafkajs';
import type { Interaction } from '../../schemas/events';
import type { CairnSettings } from '../config/environment';
import { SupervisedConsumer } from '../events/consumer-supervisor';
import { validateMessage } from '../events/validation';
import { CatalogFeed } from '../serving/catalog-feed';
import { LiveCatalog } from '../serving/live-catalog';
import { realtimeConfig, sessionBucket, sessionGroup } from './realtime-config';
import { applyToSession, type SessionEvent, type SessionLimits } from './session-state';
import { openSessionBucket, readSession, writeSession } from './session-store';

export interface SessionConsumerDeps {
  kafka: Kafka;
  nats: NatsConnection;
  settings: CairnSettings;
  limits?: SessionLimits;
  log?: (line: string) => void;
}

/** How long the consumer may take to read the catalog before it follows interactions. */
const catalogCatchUpMs = 120_000;

export class SessionConsumer {
  private consumer?: SupervisedConsumer;
  private feed?: CatalogFeed;
  private kv?: KV;
  private readonly limits: SessionLimits;
  /** Session writes made (one per user per batch that changed the session). */
  written = 0;

  constructor(private readonly deps: SessionConsumerDeps) {
    this.limits = deps.limits ?? {
      recentKept: realtimeConfig.recentKept,
      ttlMs: realtimeConfig.sessionTtlMs,
    };
  }

  async start(): Promise<void> {
    const { kafka, nats, settings } = this.deps;
    this.kv = await openSessionBucket(nats, sessionBucket(settings), this.limits.ttlMs);
    const catalog = new LiveCatalog();
    this.feed = new CatalogFeed(kafka, settings.topics, catalog, settings.prefix);
    await this.feed.start(catalogCatchUpMs);
    const groupId = sessionGroup(settings);
    this.consumer = new SupervisedConsumer({
      kafka,
      name: `session consumer (group ${groupId})`,
      // Sessions are about the last seconds: fetches return as soon as anything arrives.
      config: { groupId, maxWaitTimeInMs: 100 },
      begin: async (consumer) => {
        await consumer.connect();
        // From the beginning on a new group: events older than a session are skipped unapplied.
        await consumer.subscribe({ topic: settings.topics.interactions, fromBeginning: true });
        await consumer.run({
          autoCommitInterval: 1_000,
          partitionsConsumedConcurrently: settings.env.CAIRN_TOPIC_PARTITIONS,
          eachBatch: (payload) => this.applyBatch(payload, catalog),
        });
      },
    });
    try {
      await this.consumer.start();
    } catch (error) {
      await this.feed.stop().catch(() => undefined);
      throw error;
    }
  }

  /** Why the consumer can no longer keep sessions right (its catalog feed crashed): its host exits or restarts it. */
  failure(): Error | undefined {
    try {
      this.feed?.assertHealthy();
      return undefined;
    } catch (error) {
      return error as Error;
    }
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    await this.feed?.stop();
  }

  private async applyBatch({ batch, heartbeat }: EachBatchPayload, catalog: LiveCatalog): Promise<void> {
    this.feed?.assertHealthy();
    const byUser = new Map<string, SessionEvent[]>();
    const now = Date.now();
    for (const message of batch.messages) {
      const validation = validateMessage('interactions', message.value);
      if (!validation.ok || validation.value.stream !== 'interactions') continue;
      const event: Interaction = validation.value.event;
      if (event.occurredAt < now - this.limits.ttlMs) continue;
      const events = byUser.get(event.userId) ?? [];
      events.push({
        itemId: event.itemId,
        occurredAt: event.occurredAt,
        categories: catalog.categoriesOf(event.itemId),
        partition: batch.partition,
        offset: message.offset,
      });
      byUser.set(event.userId, events);
    }
    await Promise.all([...byUser].map(([userId, events]) => this.applyUser(userId, events, now)));
    await heartbeat();
  }

  private async applyUser(userId: string, events: SessionEvent[], now: number): Promise<void> {
    const kv = this.kv;
    if (kv === undefined) throw new Error('session consumer: not started');
    const before = await readSession(kv, userId).catch((error: unknown) => {
      // A session that does not decode is replaced by what this batch says, not left to block it.
      this.deps.log?.(`session consumer: ${(error as Error).message}; starting the session afresh`);
      return undefined;
    });
    let state = before;
    for (const event of events) state = applyToSession(state, event, this.limits, now) ?? state;
    if (state === undefined || state === before) return;
    await writeSession(kv, userId, state);
    this.written++;
  }
}

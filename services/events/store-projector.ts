/**
 * The consumer group that projects the event log into the interaction store. At-least-once
 * delivery with idempotent effects: a batch is applied, made durable (store checkpoint), and only
 * then are its offsets committed to Kafka. This projector is the one place that dead-letters
 * invalid events of the four event topics, so each reject lands in the dead-letter topic once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Consumer, EachBatchPayload, IHeaders, Kafka, Producer } from 'kafkajs';
import type { InteractionStore } from '../store/interaction-store';
import { eventProducer } from './kafka';
import { type EventStream, eventStreams, streamOf, type TopicSet } from './topics';
import { validateMessage } from './validation';

export interface LogPosition {
  topic: string;
  partition: number;
  /** The offset after the last message (the partition's high watermark). */
  high: bigint;
}

/** Where the given streams end now. */
export async function logEnd(
  admin: Admin,
  topics: TopicSet,
  streams: readonly EventStream[],
): Promise<LogPosition[]> {
  const existing = new Set(await admin.listTopics());
  const positions = await Promise.all(
    streams
      .map((s) => topics[s])
      .filter((topic) => existing.has(topic))
      .map(async (topic) =>
        (await admin.fetchTopicOffsets(topic)).map((o) => ({
          topic,
          partition: o.partition,
          high: BigInt(o.high),
        })),
      ),
  );
  return positions.flat();
}

export interface ProjectionProgress {
  applied: number;
  duplicates: number;
  rejected: number;
  deadLettered: number;
}

export interface StoreProjectorOptions {
  kafka: Kafka;
  store: InteractionStore;
  topics: TopicSet;
  groupId: string;
  /** A rebuild replays rejects that were already dead-lettered; it must not send them again. */
  deadLetters?: boolean;
  /** Clock for the future-timestamp rule (tests pin it). */
  now?: () => number;
  onBatch?: (progress: ProjectionProgress) => void;
}

export interface DeadLetter {
  key: Buffer | null;
  value: Buffer | null;
  reason: string;
  topic: string;
  partition: number;
  offset: string;
}

export function deadLetterMessage(d: DeadLetter): {
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
} {
  return {
    key: d.key,
    // The original bytes, untouched, so a fixed consumer can replay them as they were.
    value: d.value,
    headers: {
      'cairn.reason': d.reason,
      'cairn.source.topic': d.topic,
      'cairn.source.partition': String(d.partition),
      'cairn.source.offset': d.offset,
      'cairn.rejected.at': new Date().toISOString(),
    },
  };
}

export class StoreProjector {
  private consumer?: Consumer;
  private producer?: Producer;
  readonly progress: ProjectionProgress = { applied: 0, duplicates: 0, rejected: 0, deadLettered: 0 };

  constructor(private readonly options: StoreProjectorOptions) {}

  get groupId(): string {
    return this.options.groupId;
  }

  async start(): Promise<void> {
    const { kafka } = this.options;
    const admin = kafka.admin();
    await admin.connect();
    let entitiesEnd: LogPosition[];
    let everything: LogPosition[];
    try {
      entitiesEnd = await logEnd(admin, this.options.topics, ['users', 'catalog']);
      everything = await logEnd(admin, this.options.topics, eventStreams);
    } finally {
      await admin.disconnect();
    }
    if (this.options.deadLetters !== false) {
      this.producer = eventProducer(kafka);
      await this.producer.connect();
    }
    // Interactions and impressions reference users and items, and partitions of different
    // topics are read in no particular order: a store that is behind on entities (a new store, a
    // rebuild) learns them first, so no valid interaction is rejected as unknown.
    if (!this.hasApplied(entitiesEnd)) {
      const catchUp = await this.consume(['users', 'catalog'], entitiesEnd);
      while (!this.hasApplied(entitiesEnd)) await sleep(20);
      await catchUp.disconnect();
    }
    this.consumer = await this.consume(eventStreams, everything);
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
  }

  /** True when the store holds every event up to these log positions. */
  hasApplied(positions: LogPosition[]): boolean {
    return positions.every(
      (p) => p.high === 0n || BigInt(this.options.store.nextOffset(p.topic, p.partition) ?? '0') >= p.high,
    );
  }

  private async consume(streams: readonly EventStream[], partitions: LogPosition[]): Promise<Consumer> {
    const topics = streams.map((s) => this.options.topics[s]);
    const consumer = this.options.kafka.consumer({
      groupId: this.groupId,
      maxBytesPerPartition: 4 * 1024 * 1024,
      // Real-time signals must reach the store within a fraction of a second.
      maxWaitTimeInMs: 200,
    });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatch: (payload) => this.applyBatch(payload, consumer) });
    // The store's checkpoint, not the group's commits, says where to resume: a new or rebuilt
    // store starts at 0 whatever the group committed for an older one.
    for (const p of partitions.filter((p) => topics.includes(p.topic)))
      consumer.seek({
        topic: p.topic,
        partition: p.partition,
        offset: this.options.store.nextOffset(p.topic, p.partition) ?? '0',
      });
    return consumer;
  }

  private async applyBatch(
    { batch, heartbeat, isRunning, isStale }: EachBatchPayload,
    consumer: Consumer,
  ): Promise<void> {
    const { store } = this.options;
    const now = this.options.now?.() ?? Date.now();
    const { topic, partition } = batch;
    const stream = streamOf(this.options.topics, topic) as EventStream;
    const next = store.nextOffset(topic, partition);
    const rejects: DeadLetter[] = [];
    let last: string | undefined;
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      last = message.offset;
      // Already durable in the store (the commit to Kafka did not happen before a crash).
      if (next !== undefined && BigInt(message.offset) < BigInt(next)) continue;
      const validation = validateMessage(stream, message.value, now);
      const outcome = validation.ok
        ? store.apply(validation.value)
        : { kind: 'rejected' as const, reason: validation.reason };
      if (outcome.kind === 'applied') this.progress.applied++;
      else if (outcome.kind === 'duplicate') this.progress.duplicates++;
      else {
        this.progress.rejected++;
        rejects.push({
          key: message.key,
          value: message.value,
          reason: outcome.reason,
          topic,
          partition,
          offset: message.offset,
        });
      }
    }
    if (last === undefined) return;
    if (rejects.length > 0 && this.producer !== undefined) {
      await this.producer.send({
        topic: this.options.topics.deadLetter,
        acks: -1,
        messages: rejects.map(deadLetterMessage),
      });
      this.progress.deadLettered += rejects.length;
    }
    const nextOffset = String(BigInt(last) + 1n);
    await store.commit({ [topic]: { [String(partition)]: nextOffset } });
    await consumer.commitOffsets([{ topic, partition, offset: nextOffset }]);
    await heartbeat();
    this.options.onBatch?.(this.progress);
  }
}

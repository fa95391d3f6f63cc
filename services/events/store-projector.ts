/**
 * The consumer group that projects the event log into the interaction store. At-least-once
 * delivery with idempotent effects: a batch is applied, made durable (store checkpoint), and only
 * then are its offsets committed to Kafka. This projector is the one place that dead-letters
 * invalid events of the four event topics, so each reject lands in the dead-letter topic once.
 *
 * One projector per consumer group: the store needs every partition (an interaction refers to
 * users and items on any partition), so a second projector in the same group would leave both
 * stores with part of the log. A projector refuses to start while the group has live members,
 * and stops with an error if a rebalance ever hands it only part of the partitions.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Consumer, EachBatchPayload, IHeaders, Kafka, Producer } from 'kafkajs';
import { log } from '../observability/log';
import { recordDeadLetters, recordStoreEvents } from '../observability/metrics';
import type { InteractionStore } from '../store/interaction-store';
import { SupervisedConsumer } from './consumer-supervisor';
import { deadLetterReasonClass } from './dead-letter-reasons';
import { eventProducer } from './kafka';
import { type EventStream, eventStreams, streamOf, type TopicSet } from './topics';
import { validateMessage } from './validation';

export interface LogPosition {
  topic: string;
  partition: number;
  /** The offset after the last message (the partition's high watermark). */
  high: bigint;
}

/**
 * Where the given streams end now, or where they ended at time `at`: per partition, at the first
 * message whose timestamp is at or after it.
 */
export async function logEnd(
  admin: Admin,
  topics: TopicSet,
  streams: readonly EventStream[],
  at?: Date,
): Promise<LogPosition[]> {
  const existing = new Set(await admin.listTopics());
  const positions = await Promise.all(
    streams
      .map((s) => topics[s])
      .filter((topic) => existing.has(topic))
      .map(async (topic) =>
        at === undefined
          ? (await topicOffsets(admin, topic)).map((o) => ({
              topic,
              partition: o.partition,
              high: BigInt(o.high),
            }))
          : (await admin.fetchTopicOffsetsByTimestamp(topic, at.getTime())).map((o) => ({
              topic,
              partition: o.partition,
              high: BigInt(o.offset),
            })),
      ),
  );
  return positions.flat();
}

/**
 * kafkajs gives up on the first "not the leader" (a topic just created, a broker just
 * restarted) although the leader is known a moment later: retried here while it is retriable.
 */
async function topicOffsets(admin: Admin, topic: string): ReturnType<Admin['fetchTopicOffsets']> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (error) {
      if (attempt >= 10 || (error as { retriable?: boolean }).retriable !== true) throw error;
      await sleep(200 * attempt);
    }
  }
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
  /** Clock for the future-timestamp rule (tests pin it; a rebuild as of a time sets it to that time). */
  now?: () => number;
  /** A log prefix to project: no message at or after these positions is applied. */
  until?: LogPosition[];
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

/**
 * A broker refuses a produce request over its message.max.bytes (1 MiB by default), and a batch
 * of rejects can be as large as a fetch (4 MiB per partition): dead letters go in parts.
 */
const deadLetterBytesPerSend = 512 * 1024;

function* inParts(letters: DeadLetter[]): Generator<DeadLetter[]> {
  let part: DeadLetter[] = [];
  let bytes = 0;
  for (const letter of letters) {
    // The headers and record overhead are a few hundred bytes.
    const size = (letter.key?.length ?? 0) + (letter.value?.length ?? 0) + 512;
    if (part.length > 0 && bytes + size > deadLetterBytesPerSend) {
      yield part;
      part = [];
      bytes = 0;
    }
    part.push(letter);
    bytes += size;
  }
  if (part.length > 0) yield part;
}

/** kafkajs' default session: a member that sends no heartbeat for this long leaves the group. */
const sessionTimeoutMs = 30_000;

/** Another projector consumes from this projector's group. */
export class GroupInUseError extends Error {
  override name = 'GroupInUseError';
}

export class StoreProjector {
  private consumer?: SupervisedConsumer;
  private producer?: Producer;
  private stopping = false;
  private fatal?: Error;
  private reportFailure: (error: Error) => void = () => {};
  /** Store commits and group commits, one at a time, so that a group commit never goes backwards. */
  private commits: Promise<unknown> = Promise.resolve();
  /** Rejects when the projector cannot go on; whoever runs it should stop and report. */
  readonly failed: Promise<never>;
  readonly progress: ProjectionProgress = { applied: 0, duplicates: 0, rejected: 0, deadLettered: 0 };

  constructor(private readonly options: StoreProjectorOptions) {
    this.failed = new Promise<never>((_, reject) => {
      this.reportFailure = reject;
    });
    // Marks the rejection as handled: a caller that never awaits `failed` learns of it from stop().
    this.failed.catch(() => undefined);
  }

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
      await this.refuseSharedGroup(admin);
      const { until, topics } = this.options;
      const entityTopics = [topics.users, topics.catalog];
      entitiesEnd =
        until?.filter((p) => entityTopics.includes(p.topic)) ??
        (await logEnd(admin, topics, ['users', 'catalog']));
      everything = until ?? (await logEnd(admin, topics, eventStreams));
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
      const catchUp = this.supervise(['users', 'catalog'], entitiesEnd);
      await catchUp.start();
      try {
        while (!this.hasApplied(entitiesEnd) && !this.stopping) {
          if (this.fatal !== undefined) throw this.fatal;
          await sleep(20);
        }
      } finally {
        await catchUp.stop();
      }
    }
    if (this.stopping) return;
    this.consumer = this.supervise(eventStreams, everything);
    await this.consumer.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.consumer?.stop();
    await this.producer?.disconnect();
  }

  /** True when the store holds every event up to these log positions. */
  hasApplied(positions: LogPosition[]): boolean {
    return positions.every(
      (p) => p.high === 0n || BigInt(this.options.store.nextOffset(p.topic, p.partition) ?? '0') >= p.high,
    );
  }

  /**
   * A member that was killed stays in the group until its session times out, so members are
   * given that long to go; one still there after it is alive and heartbeating.
   */
  private async refuseSharedGroup(admin: Admin): Promise<void> {
    const deadline = Date.now() + sessionTimeoutMs + 5_000;
    for (;;) {
      const [group] = (await admin.describeGroups([this.groupId])).groups;
      const members = group?.members ?? [];
      if (members.length === 0) return;
      if (Date.now() >= deadline) {
        const who = members.map((m) => `${m.clientId}@${m.clientHost}`).join(', ');
        throw new GroupInUseError(
          `consumer group '${this.groupId}' already has ${members.length} live member(s) (${who}): ` +
            `another store projector ('cairn consume', or 'cairn ingest' running its consumers in-process) ` +
            `consumes from it. A store needs every partition, so one projector per group: stop the other ` +
            `one, or next to a running 'cairn consume' use 'cairn ingest --external'`,
        );
      }
      await sleep(1_000);
    }
  }

  private supervise(streams: readonly EventStream[], positions: LogPosition[]): SupervisedConsumer {
    const topics = streams.map((s) => this.options.topics[s]);
    const partitions = positions.filter((p) => topics.includes(p.topic));
    return new SupervisedConsumer({
      kafka: this.options.kafka,
      name: `store projector (group ${this.groupId})`,
      config: {
        groupId: this.groupId,
        sessionTimeout: sessionTimeoutMs,
        maxBytesPerPartition: 4 * 1024 * 1024,
        // Real-time signals must reach the store within a fraction of a second.
        maxWaitTimeInMs: 200,
      },
      begin: async (consumer) => {
        await consumer.connect();
        await consumer.subscribe({ topics, fromBeginning: true });
        consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
          this.joined(consumer, payload.memberAssignment, partitions),
        );
        await consumer.run({ autoCommit: false, eachBatch: (payload) => this.applyBatch(payload, consumer) });
        // The store's checkpoint, not the group's commits, says where to resume: a new or rebuilt
        // store starts at 0 whatever the group committed for an older one.
        for (const p of partitions)
          consumer.seek({
            topic: p.topic,
            partition: p.partition,
            offset: this.options.store.nextOffset(p.topic, p.partition) ?? '0',
          });
        // kafkajs ignores commits during the first join (see joined): this one is the first's.
        await this.serially(() => this.commitToGroup(consumer, partitions));
      },
    });
  }

  /**
   * On every join (a new consumer's, after a crash, and each rejoin after a rebalance or a
   * broker restart) the group's commits are set to the store's checkpoint. The group's commits
   * are how other processes (the ingest's awaitStore) learn what is durable; a commit lost to a
   * broker restart after the store had made the batch durable would otherwise stay behind until
   * a new event came, and with no new event, forever. kafkajs drops commits made while a
   * consumer's first join is under way, so a new consumer commits again once run() returns.
   */
  private joined(consumer: Consumer, assignment: Record<string, number[]>, expected: LogPosition[]): void {
    const elsewhere = expected.filter((p) => !assignment[p.topic]?.includes(p.partition));
    if (elsewhere.length > 0) {
      this.fatal = new GroupInUseError(
        `consumer group '${this.groupId}' gave another member ${elsewhere.length} of its partitions ` +
          `(${elsewhere.map((p) => `${p.topic}/${p.partition}`).join(', ')}): a second store projector joined ` +
          `the group. A store needs every partition, so one projector per group: stop the other one`,
      );
      this.reportFailure(this.fatal);
      return;
    }
    this.serially(() => this.commitToGroup(consumer, expected)).catch((error: Error) =>
      log.warn(
        { err: error, group: this.groupId },
        "store projector: committing the store's checkpoint on join failed; the next batch or join commits it",
      ),
    );
  }

  private async applyBatch(
    { batch, heartbeat, isRunning, isStale }: EachBatchPayload,
    consumer: Consumer,
  ): Promise<void> {
    if (this.fatal !== undefined) return;
    const { store } = this.options;
    const now = this.options.now?.() ?? Date.now();
    const { topic, partition } = batch;
    const stream = streamOf(this.options.topics, topic) as EventStream;
    const next = store.nextOffset(topic, partition);
    const bound = this.options.until?.find((p) => p.topic === topic && p.partition === partition)?.high;
    const rejects: DeadLetter[] = [];
    const before = { ...this.progress };
    let last: string | undefined;
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      if (bound !== undefined && BigInt(message.offset) >= bound) break;
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
    if (this.producer !== undefined)
      for (const part of inParts(rejects)) {
        await this.producer.send({
          topic: this.options.topics.deadLetter,
          acks: -1,
          messages: part.map(deadLetterMessage),
        });
        this.progress.deadLettered += part.length;
        for (const letter of part) recordDeadLetters(deadLetterReasonClass(letter.reason), 1);
      }
    // Never behind the checkpoint: a redelivered batch that was already durable must not move it back.
    const after = BigInt(last) + 1n;
    const nextOffset = String(next !== undefined && BigInt(next) > after ? BigInt(next) : after);
    const position = { topic, partition, high: BigInt(nextOffset) };
    await this.serially(async () => {
      await this.commitStore({ [topic]: { [String(partition)]: nextOffset } });
      await this.commitToGroup(consumer, [position]);
    });
    await heartbeat();
    recordStoreEvents('applied', this.progress.applied - before.applied);
    recordStoreEvents('duplicate', this.progress.duplicates - before.duplicates);
    recordStoreEvents('rejected', this.progress.rejected - before.rejected);
    this.options.onBatch?.(this.progress);
  }

  /**
   * A failed store commit (disk full, I/O error) keeps the applied events pending in the store,
   * so it is retried as it is, without applying anything again, until it succeeds or the
   * projector stops; nothing is committed to the group before it does, so nothing is lost.
   * No heartbeats meanwhile: if the group drops this member, the join that follows commits the
   * checkpoint again.
   */
  private async commitStore(offsets: Record<string, Record<string, string>>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.options.store.commit(offsets);
        return;
      } catch (error) {
        if (this.stopping) throw error;
        const wait = Math.min(10_000, 200 * 2 ** attempt);
        log.warn(
          { err: error, group: this.groupId, retryInMs: wait },
          'store projector: store commit failed',
        );
        await sleep(wait);
      }
    }
  }

  private async commitToGroup(consumer: Consumer, partitions: LogPosition[]): Promise<void> {
    await consumer.commitOffsets(
      partitions.map((p) => ({
        topic: p.topic,
        partition: p.partition,
        offset: this.options.store.nextOffset(p.topic, p.partition) ?? '0',
      })),
    );
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.commits.then(work);
    this.commits = result.catch(() => undefined);
    return result;
  }
}

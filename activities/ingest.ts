/**
 * Activities that put a dataset on the event log. Producing is at-least-once (a retried
 * activity resumes from its last heartbeat and may resend a batch); consumers dedupe by event id,
 * so what lands in the stores is exactly once.
 */

import { CancelledFailure, Context, heartbeat } from '@temporalio/activity';
import type { Kafka, Message } from 'kafkajs';
import { loadMovieLens } from '../services/data/movielens';
import { itemCreated, ratingInteraction, userCreated } from '../services/data/movielens-events';
import { eventProducer } from '../services/events/kafka';
import { waitForProjection } from '../services/events/projection-progress';
import { type EventStream, ensureTopics, type TopicSet } from '../services/events/topics';

export interface IngestActivityDeps {
  kafka: Kafka;
  topics: TopicSet;
  partitions: number;
  /** The store projector's consumer group, whose progress says what is durable in the store. */
  storeGroupId: string;
}

export interface DatasetRef {
  dataDir: string;
  /** Events per second while replaying interactions; 0 replays as fast as the broker takes them. */
  eventsPerSecond: number;
  /** Events per second while publishing users and items; absent or 0: as fast as the broker takes them. */
  entitiesPerSecond?: number;
}

export interface EntitiesPublished {
  users: number;
  items: number;
}

/**
 * The publishing phases, in the order an activity goes through them. A heartbeat says which
 * phase it was in and how much of that phase was sent, so a retry resumes each phase where that
 * phase stopped (one shared count let the catalog resume at the users' count and skip items).
 */
const phases = ['users', 'catalog', 'interactions'] as const;
type PublishPhase = (typeof phases)[number];

interface PublishProgress {
  phase: PublishPhase;
  sent: number;
}

const batchSize = 2_000;
/** Paced sends go out in batches of a twentieth of a second, so the pace is smooth. */
const batchesPerSecond = 20;

/** How much of `phase` the last heartbeat of an earlier attempt had sent (0: start the phase over). */
function resumePoint(details: unknown, phase: PublishPhase): number {
  const progress = details as Partial<PublishProgress> | undefined;
  // A bare count is from before phases were recorded: start over (consumers dedupe the resends).
  if (typeof progress !== 'object' || progress === null || typeof progress.sent !== 'number') return 0;
  const last = phases.indexOf(progress.phase as PublishPhase);
  const current = phases.indexOf(phase);
  if (last === current) return progress.sent;
  return last > current ? Number.POSITIVE_INFINITY : 0;
}

export function createIngestActivities({ kafka, topics, partitions, storeGroupId }: IngestActivityDeps) {
  async function publish(
    phase: PublishPhase,
    topic: string,
    messages: Message[],
    eventsPerSecond: number,
  ): Promise<number> {
    const context = Context.current();
    const resumeAt = Math.min(messages.length, resumePoint(context.info.heartbeatDetails, phase));
    const producer = eventProducer(kafka);
    await producer.connect();
    // Cancellation (worker shutdown, heartbeat time-out) ends a send in flight too; a failure to
    // disconnect here shows in the `finally` below, which disconnects again.
    const abandon = () => void producer.disconnect().catch(() => undefined);
    context.cancellationSignal.addEventListener('abort', abandon);
    try {
      const started = Date.now();
      const size =
        eventsPerSecond > 0
          ? Math.max(1, Math.min(batchSize, Math.round(eventsPerSecond / batchesPerSecond)))
          : batchSize;
      for (let sent = resumeAt; sent < messages.length; ) {
        if (context.cancellationSignal.aborted) throw new CancelledFailure('publishing cancelled');
        const batch = messages.slice(sent, sent + size);
        await producer.send({ topic, acks: -1, messages: batch });
        sent += batch.length;
        heartbeat({ phase, sent } satisfies PublishProgress);
        if (eventsPerSecond > 0) {
          const due = started + ((sent - resumeAt) / eventsPerSecond) * 1000;
          if (due > Date.now()) await context.sleep(due - Date.now());
        }
      }
    } finally {
      context.cancellationSignal.removeEventListener('abort', abandon);
      await producer.disconnect();
    }
    return messages.length;
  }

  return {
    async prepareEventLog(): Promise<string[]> {
      const admin = kafka.admin();
      await admin.connect();
      try {
        return await ensureTopics(admin, topics, partitions);
      } finally {
        await admin.disconnect();
      }
    },

    async publishMovieLensEntities({
      dataDir,
      entitiesPerSecond = 0,
    }: DatasetRef): Promise<EntitiesPublished> {
      const { ratings, users, items } = await loadMovieLens(dataDir);
      // Entities exist before anyone interacts with them.
      const since = ratings.reduce((min, r) => Math.min(min, r.timestamp), Number.POSITIVE_INFINITY) * 1000;
      const asMessage = (key: string, value: object): Message => ({ key, value: JSON.stringify(value) });
      await publish(
        'users',
        topics.users,
        users.map((u) => asMessage(u.user, userCreated(u, since))),
        entitiesPerSecond,
      );
      await publish(
        'catalog',
        topics.catalog,
        items.map((i) => asMessage(i.item, itemCreated(i, since))),
        entitiesPerSecond,
      );
      return { users: users.length, items: items.length };
    },

    /** Waits until the store projector has applied these topics up to their current end. */
    async awaitStore(streams: EventStream[]): Promise<void> {
      const admin = kafka.admin();
      await admin.connect();
      try {
        await waitForProjection(
          admin,
          storeGroupId,
          topics,
          streams,
          () => heartbeat('waiting for the store projector'),
          250,
          Context.current().cancellationSignal,
        );
      } finally {
        await admin.disconnect();
      }
    },

    async publishMovieLensInteractions({ dataDir, eventsPerSecond }: DatasetRef): Promise<number> {
      const { ratings } = await loadMovieLens(dataDir);
      const ordered = [...ratings].sort((a, b) => a.timestamp - b.timestamp);
      const messages = ordered.map((r) => {
        const event = ratingInteraction(r);
        return { key: event.userId, value: JSON.stringify(event) };
      });
      return publish('interactions', topics.interactions, messages, eventsPerSecond);
    },
  };
}

export type IngestActivities = ReturnType<typeof createIngestActivities>;

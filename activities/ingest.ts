/**
 * Activities that put a dataset on the event log. Producing is at-least-once (a retried
 * activity resumes from its last heartbeat and may resend a batch); consumers dedupe by event id,
 * so what lands in the stores is exactly once.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { Context, heartbeat } from '@temporalio/activity';
import type { Kafka, Message } from 'kafkajs';
import { loadMovieLens } from '../services/data/movielens';
import { itemCreated, ratingInteraction, userCreated } from '../services/data/movielens-events';
import { eventProducer } from '../services/events/kafka';
import { waitForStore } from '../services/events/store-progress';
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
}

export interface EntitiesPublished {
  users: number;
  items: number;
}

const batchSize = 2_000;

export function createIngestActivities({ kafka, topics, partitions, storeGroupId }: IngestActivityDeps) {
  async function publish(topic: string, messages: Message[], eventsPerSecond: number): Promise<number> {
    const resumeAt = (Context.current().info.heartbeatDetails as number | undefined) ?? 0;
    const producer = eventProducer(kafka);
    await producer.connect();
    try {
      const started = Date.now();
      for (let sent = resumeAt; sent < messages.length; ) {
        const batch = messages.slice(sent, sent + batchSize);
        await producer.send({ topic, acks: -1, messages: batch });
        sent += batch.length;
        heartbeat(sent);
        if (eventsPerSecond > 0) {
          const due = started + ((sent - resumeAt) / eventsPerSecond) * 1000;
          if (due > Date.now()) await sleep(due - Date.now());
        }
      }
    } finally {
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

    async publishMovieLensEntities({ dataDir }: DatasetRef): Promise<EntitiesPublished> {
      const { ratings, users, items } = await loadMovieLens(dataDir);
      // Entities exist before anyone interacts with them.
      const since = ratings.reduce((min, r) => Math.min(min, r.timestamp), Number.POSITIVE_INFINITY) * 1000;
      const asMessage = (key: string, value: object): Message => ({ key, value: JSON.stringify(value) });
      await publish(
        topics.users,
        users.map((u) => asMessage(u.user, userCreated(u, since))),
        0,
      );
      await publish(
        topics.catalog,
        items.map((i) => asMessage(i.item, itemCreated(i, since))),
        0,
      );
      return { users: users.length, items: items.length };
    },

    /** Waits until the store projector has applied these topics up to their current end. */
    async awaitStore(streams: EventStream[]): Promise<void> {
      const admin = kafka.admin();
      await admin.connect();
      try {
        await waitForStore(
          admin,
          storeGroupId,
          topics,
          streams,
          () => heartbeat('waiting for the store projector'),
          250,
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
      return publish(topics.interactions, messages, eventsPerSecond);
    },
  };
}

export type IngestActivities = ReturnType<typeof createIngestActivities>;

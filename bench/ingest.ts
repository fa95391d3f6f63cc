/**
 * `cairn bench ingest`: events per second end to end — produced to Kafka, consumed by the store
 * projector running as its own `cairn consume` process (as deployed), durable in the store.
 * Runs in a scratch namespace on the real servers and removes it afterwards.
 */
import type { Message, Producer } from 'kafkajs';
import type { Interaction } from '../schemas/events';
import { exited, spawnCairn } from '../services/config/cairn-process';
import { scratchNamespace } from '../services/config/scratch-namespace';
import { fetchMovieLens } from '../services/data/fetch';
import { loadMovieLens } from '../services/data/movielens';
import { itemCreated, ratingInteraction, userCreated } from '../services/data/movielens-events';
import { syntheticInteractions, syntheticItems, syntheticUsers } from '../services/data/synthetic';
import { eventProducer, kafkaClient } from '../services/events/kafka';
import { waitForProjection } from '../services/events/projection-progress';

export interface IngestBenchOptions {
  dataset: 'movielens' | 'synthetic';
  /** Interactions for the synthetic dataset (ML-100K always has 100,000). */
  events: number;
  partitions: number;
  cacheDir: string;
}

export interface IngestBenchResult {
  dataset: string;
  partitions: number;
  events: number;
  produceSeconds: number;
  endToEndSeconds: number;
  eventsPerSecond: number;
}

interface Dataset {
  users: Iterable<Message>;
  items: Iterable<Message>;
  interactions: Iterable<Message>;
  count: number;
}

const asMessage = (key: string, event: object): Message => ({ key, value: JSON.stringify(event) });
const interactionMessage = (e: Interaction) => asMessage(e.userId, e);

async function dataset(options: IngestBenchOptions): Promise<Dataset> {
  if (options.dataset === 'movielens') {
    const data = await loadMovieLens(await fetchMovieLens(options.cacheDir));
    const since = Math.min(...data.ratings.map((r) => r.timestamp)) * 1000;
    return {
      users: data.users.map((u) => asMessage(u.user, userCreated(u, since))),
      items: data.items.map((i) => asMessage(i.item, itemCreated(i, since))),
      interactions: [...data.ratings]
        .sort((a, b) => a.timestamp - b.timestamp)
        .map((r) => interactionMessage(ratingInteraction(r))),
      count: data.ratings.length,
    };
  }
  // Catalog and audience scale with the log, as in a real service: 1 item and 1 user per 100 events.
  const config = {
    seed: 7,
    interactionCount: options.events,
    itemCount: Math.max(1_000, Math.min(1_000_000, Math.round(options.events / 100))),
    userCount: Math.max(1_000, Math.round(options.events / 100)),
  };
  const map = <T>(source: Iterable<T>, f: (t: T) => Message): Iterable<Message> => ({
    *[Symbol.iterator]() {
      for (const t of source) yield f(t);
    },
  });
  return {
    users: map(syntheticUsers(config), (u) => asMessage(u.userId, u)),
    items: map(syntheticItems(config), (i) => asMessage(i.itemId, i)),
    interactions: map(syntheticInteractions(config), interactionMessage),
    count: options.events,
  };
}

/** Streams messages in batches with a few sends in flight; never holds the whole dataset. */
async function produce(producer: Producer, topic: string, messages: Iterable<Message>): Promise<void> {
  const inFlight = new Set<Promise<unknown>>();
  let batch: Message[] = [];
  const flush = async () => {
    const send = producer.send({ topic, acks: -1, messages: batch });
    batch = [];
    inFlight.add(send);
    send.finally(() => inFlight.delete(send));
    if (inFlight.size >= 4) await Promise.race(inFlight);
  };
  for (const message of messages) {
    batch.push(message);
    if (batch.length === 5_000) await flush();
  }
  if (batch.length > 0) await flush();
  await Promise.all(inFlight);
}

export async function benchIngest(options: IngestBenchOptions): Promise<IngestBenchResult> {
  const settings = await scratchNamespace('bench', options.partitions);
  const kafka = kafkaClient(settings, 'cairn-bench');
  const producer = eventProducer(kafka);
  const admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  const consumer = spawnCairn(settings, ['consume']);
  try {
    const data = await dataset(options);
    await produce(producer, settings.topics.users, data.users);
    await produce(producer, settings.topics.catalog, data.items);
    await waitForProjection(admin, settings.consumerGroups.store, settings.topics, ['users', 'catalog']);

    const started = performance.now();
    await produce(producer, settings.topics.interactions, data.interactions);
    const produced = performance.now();
    await waitForProjection(
      admin,
      settings.consumerGroups.store,
      settings.topics,
      ['interactions'],
      () => {},
      20,
    );
    const durable = performance.now();
    const endToEndSeconds = (durable - started) / 1000;
    return {
      dataset: options.dataset,
      partitions: options.partitions,
      events: data.count,
      produceSeconds: (produced - started) / 1000,
      endToEndSeconds,
      eventsPerSecond: data.count / endToEndSeconds,
    };
  } finally {
    consumer.kill('SIGTERM');
    await exited(consumer);
    await Promise.all([producer.disconnect(), admin.disconnect()]);
    await settings.cleanup();
  }
}

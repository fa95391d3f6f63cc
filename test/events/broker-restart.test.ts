/**
 * The event consumers across a Kafka broker crash, on a private broker (see private-broker.ts):
 * the broker is SIGKILLed mid-work and started again, and the work must complete exactly.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import { startConsumers } from '../../cli/consumers';
import { searchClient } from '../../services/catalog/elasticsearch';
import { exited, spawnCairn } from '../../services/config/cairn-process';
import { type ScratchSettings, scratchNamespace } from '../../services/config/scratch-namespace';
import { eventProducer, kafkaClient } from '../../services/events/kafka';
import type { TopicSet } from '../../services/events/topics';
import { InteractionStore } from '../../services/store/interaction-store';
import { rebuildStore } from '../../services/store/rebuild';
import { waitFor } from '../support/wait';
import { itemCreated, userCreated } from './entity-events';
import { type PrivateBroker, startPrivateBroker } from './private-broker';
import { within } from './within';

const movieLens = { interactions: 100_000, impressions: 0, items: 1_682, users: 943 };

let broker: PrivateBroker;
before(async () => {
  broker = await startPrivateBroker();
});
after(async () => {
  await broker.remove();
});

/** How many events a topic holds; undefined while its leaders are not known yet. */
async function produced(admin: Admin, topic: string): Promise<number | undefined> {
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, o) => sum + Number(o.high), 0);
  } catch {
    return undefined;
  }
}

/** A fresh broker elects the leaders of new topics a moment after creating them. */
async function leadersKnown(settings: ScratchSettings): Promise<void> {
  const admin = kafkaClient(settings, 'cairn-test').admin();
  await admin.connect();
  try {
    for (const topic of Object.values(settings.topics))
      await waitFor(async () => (await produced(admin, topic)) !== undefined, {
        what: `the leaders of ${topic}`,
        timeoutMs: 30_000,
      });
  } finally {
    await admin.disconnect();
  }
}

async function namespace(): Promise<ScratchSettings> {
  const settings = await scratchNamespace('brk');
  await leadersKnown(settings);
  return settings;
}

async function crashBroker(): Promise<void> {
  broker.kill();
  await sleep(5_000);
  await broker.restart();
}

async function publishEntities(settings: ScratchSettings, topics: TopicSet, ids: string[]): Promise<void> {
  const producer = eventProducer(kafkaClient(settings, 'cairn-test-producer'));
  await producer.connect();
  await producer.send({
    topic: topics.users,
    acks: -1,
    messages: ids.map((id) => ({ key: id, value: JSON.stringify(userCreated(id)) })),
  });
  await producer.send({
    topic: topics.catalog,
    acks: -1,
    messages: ids.map((id) => ({ key: id, value: JSON.stringify(itemCreated(id)) })),
  });
  await producer.disconnect();
}

test('the store projector and the catalog indexer keep consuming after the broker is SIGKILLed and restarted', async () => {
  const settings = await namespace();
  const consumers = await startConsumers(settings);
  const search = searchClient(settings);
  try {
    await publishEntities(settings, settings.topics, ['a1', 'a2', 'a3']);
    await waitFor(() => consumers.store.counts().items === 3, {
      what: 'the store to hold the first 3 items',
      timeoutMs: 60_000,
    });
    await crashBroker();
    await publishEntities(settings, settings.topics, ['b1', 'b2', 'b3', 'b4']);
    await waitFor(() => consumers.store.counts().items === 7 && consumers.store.counts().users === 7, {
      what: 'the store to hold all 7 items and users after the broker restart',
      timeoutMs: 180_000,
      pollMs: 250,
    });
    await waitFor(
      async () => {
        await search.indices.refresh({ index: settings.catalogIndex });
        return (await search.count({ index: settings.catalogIndex })).count === 7;
      },
      {
        what: 'the catalog index to hold all 7 items after the broker restart',
        timeoutMs: 180_000,
        pollMs: 500,
      },
    );
  } finally {
    await consumers.stop();
    await search.close();
    await settings.cleanup();
  }
});

test('cairn ingest movielens survives a broker SIGKILLed mid-ingest: exact counts, the checksum of a rebuild', async () => {
  const settings = await namespace();
  const kafka = kafkaClient(settings, 'cairn-test');
  const admin = kafka.admin();
  await admin.connect();
  const ingest = spawnCairn(settings, ['ingest', 'movielens', '--rate', '4000']);
  try {
    await waitFor(async () => ((await produced(admin, settings.topics.interactions)) ?? 0) >= 20_000, {
      what: 'the ingest to be 20,000 interactions into the replay',
      timeoutMs: 240_000,
      pollMs: 200,
    });
    await crashBroker();
    await within(exited(ingest), {
      what: 'the ingest to complete after the broker restart',
      timeoutMs: 300_000,
    });
    assert.equal(ingest.exitCode, 0, 'the ingest succeeded');
    const store = await InteractionStore.open(settings.storeDir);
    assert.deepEqual(store.counts(), movieLens);
    const checksum = await store.checksum();
    await store.close();
    const rebuilt = await rebuildStore(
      kafka,
      settings.topics,
      settings.storeDir,
      settings.consumerGroups.store,
    );
    assert.equal(rebuilt.checksum, checksum, 'the store is what the log rebuilds');
    assert.equal(rebuilt.rejected, 0);
  } finally {
    ingest.kill('SIGKILL');
    await admin.disconnect();
    await settings.cleanup();
  }
});

test('SIGTERM stops cairn ingest promptly; running it again completes the ingest exactly', async () => {
  const settings = await namespace();
  const admin = kafkaClient(settings, 'cairn-test').admin();
  await admin.connect();
  const first = spawnCairn(settings, ['ingest', 'movielens', '--rate', '2000']);
  try {
    await waitFor(async () => ((await produced(admin, settings.topics.interactions)) ?? 0) >= 5_000, {
      what: 'the ingest to be 5,000 interactions into the replay',
      timeoutMs: 240_000,
      pollMs: 200,
    });
    first.kill('SIGTERM');
    await within(exited(first), { what: 'the ingest to stop on SIGTERM', timeoutMs: 45_000 });
    assert.equal(first.exitCode, 128 + 15, 'the exit code of a process ended by SIGTERM');
    const again = spawnCairn(settings, ['ingest', 'movielens']);
    try {
      await within(exited(again), { what: 'the resumed ingest to complete', timeoutMs: 300_000 });
    } finally {
      again.kill('SIGKILL');
    }
    assert.equal(again.exitCode, 0, 'the resumed ingest succeeded');
    const store = await InteractionStore.open(settings.storeDir);
    assert.deepEqual(store.counts(), movieLens);
    await store.close();
  } finally {
    first.kill('SIGKILL');
    await admin.disconnect();
    await settings.cleanup();
  }
});

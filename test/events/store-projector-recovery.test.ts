/**
 * The store projector where a process crash or a full disk leaves it: a group commit lost while
 * the store has everything, and a store commit that fails.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Kafka } from 'kafkajs';
import { type ScratchSettings, scratchNamespace } from '../../services/config/scratch-namespace';
import { kafkaClient } from '../../services/events/kafka';
import { projectionHasApplied } from '../../services/events/projection-progress';
import { logEnd, StoreProjector } from '../../services/events/store-projector';
import { InteractionStore } from '../../services/store/interaction-store';
import { idempotentProducer } from '../support/idempotent-producer';
import { waitFor } from '../support/wait';
import { userCreated } from './entity-events';

async function publishUsers(kafka: Kafka, settings: ScratchSettings, values: string[]): Promise<void> {
  const producer = idempotentProducer(kafka);
  await producer.connect();
  // In parts, each well under the broker's 1 MiB limit on a produce request.
  for (let from = 0; from < values.length; from += 300)
    await producer.send({
      topic: settings.topics.users,
      acks: -1,
      messages: values.slice(from, from + 300).map((value, i) => ({ key: `k${from + i}`, value })),
    });
  await producer.disconnect();
}

const users = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => JSON.stringify(userCreated(`u${from + i}`)));

async function caughtUp(admin: Admin, settings: ScratchSettings): Promise<boolean> {
  const end = await logEnd(admin, settings.topics, ['users', 'catalog']);
  return projectionHasApplied(admin, settings.consumerGroups.store, end);
}

interface Fixture {
  settings: ScratchSettings;
  kafka: Kafka;
  admin: Admin;
  store: InteractionStore;
  /** The projector under test; a test that restarts it assigns `f.newProjector()`. */
  projector: StoreProjector;
  newProjector(): StoreProjector;
}

/** A test body on a scratch namespace, a store and a projector (not started); all removed afterwards. */
function withProjector(partitions: number, body: (f: Fixture) => Promise<void>): () => Promise<void> {
  return async () => {
    const settings = await scratchNamespace('rec', partitions);
    const kafka = kafkaClient(settings, 'cairn-test');
    const admin = kafka.admin();
    await admin.connect();
    const store = await InteractionStore.open(settings.storeDir);
    const newProjector = () =>
      new StoreProjector({ kafka, store, topics: settings.topics, groupId: settings.consumerGroups.store });
    const fixture: Fixture = { settings, kafka, admin, store, projector: newProjector(), newProjector };
    try {
      await body(fixture);
    } finally {
      await fixture.projector.stop();
      await store.close();
      await admin.disconnect();
      await settings.cleanup();
    }
  };
}

test(
  "a projector that joins commits its store's checkpoint, so a group commit lost in a crash does not keep the store 'behind'",
  withProjector(4, async (f) => {
    const { settings, kafka, admin, store } = f;
    await publishUsers(kafka, settings, users(0, 40));
    await f.projector.start();
    await waitFor(() => caughtUp(admin, settings), {
      what: 'the first projector to commit',
      timeoutMs: 60_000,
    });
    await f.projector.stop();

    // What a broker restart can leave: the store has applied everything, the group's commits
    // are behind it, and no new event comes to be committed.
    const offsets = await admin.fetchTopicOffsets(settings.topics.users);
    await admin.setOffsets({
      groupId: settings.consumerGroups.store,
      topic: settings.topics.users,
      partitions: offsets.map((o) => ({ partition: o.partition, offset: '0' })),
    });
    assert.equal(await caughtUp(admin, settings), false, 'the group is behind the store');

    f.projector = f.newProjector();
    await f.projector.start();
    await waitFor(() => caughtUp(admin, settings), {
      what: "the group's commits to reach the store's checkpoint after the projector rejoined",
      timeoutMs: 60_000,
      pollMs: 250,
    });
    assert.equal(store.counts().users, 40);
  }),
);

test(
  'a failing store commit is retried: the projector keeps consuming, loses nothing, dead-letters once',
  withProjector(4, async (f) => {
    const { settings, kafka, admin, store } = f;
    const commit = store.commit.bind(store);
    let failures = 4;
    store.commit = async (offsets) => {
      if (failures-- > 0) throw new Error('ENOSPC: no space left on device (injected)');
      return commit(offsets);
    };
    await publishUsers(kafka, settings, [...users(0, 30), '{"not": "a user event"}']);
    await f.projector.start();
    await waitFor(() => caughtUp(admin, settings), {
      what: 'the group commits after the store commit succeeded',
      timeoutMs: 90_000,
      pollMs: 250,
    });
    assert.ok(failures < 0, 'the injected failures were hit');
    assert.equal(store.counts().users, 30);

    await publishUsers(kafka, settings, users(30, 35));
    await waitFor(() => store.counts().users === 35 && caughtUp(admin, settings), {
      what: 'the projector to go on consuming after the failed commits',
      timeoutMs: 60_000,
      pollMs: 250,
    });
    const deadLetters = await admin.fetchTopicOffsets(settings.topics.deadLetter);
    assert.equal(
      deadLetters.reduce((sum, o) => sum + Number(o.high), 0),
      1,
      'the one invalid event is dead-lettered once, however often its batch was committed',
    );
    assert.equal(f.projector.progress.applied, 35);
  }),
);

test(
  'a member the coordinator dropped during a stalled store commit ("not aware of this member") is replaced, and consuming goes on',
  withProjector(4, async (f) => {
    const { settings, kafka, admin, store } = f;
    const commit = store.commit.bind(store);
    let stall = false;
    await publishUsers(kafka, settings, users(0, 10));
    await f.projector.start();
    await waitFor(() => caughtUp(admin, settings), {
      what: 'the first users to be committed',
      timeoutMs: 60_000,
    });

    // A disk that stalls for longer than the group's session: no heartbeat goes out meanwhile,
    // the coordinator drops the member, and the commit that follows is refused.
    stall = true;
    store.commit = async (offsets) => {
      if (stall) {
        stall = false;
        await sleep(40_000);
      }
      return commit(offsets);
    };
    await publishUsers(kafka, settings, users(10, 20));
    await waitFor(() => !stall, { what: 'the stalled commit to begin', timeoutMs: 30_000 });
    await publishUsers(kafka, settings, users(20, 30));
    await waitFor(async () => store.counts().users === 30 && (await caughtUp(admin, settings)), {
      what: 'the projector to apply and commit the users published around the stall',
      timeoutMs: 180_000,
      pollMs: 500,
    });
  }),
);

test(
  'a flood of invalid events larger than one produce request is dead-lettered in parts, and the projector goes on',
  withProjector(1, async (f) => {
    const { settings, kafka, admin, store } = f;
    const invalid = 3_000;
    // About 3 MB of rejects on one partition: one fetch, far over a 1 MiB produce request.
    const junk = `{"not a user event": "${'x'.repeat(1_000)}"}`;
    await publishUsers(kafka, settings, [...Array.from({ length: invalid }, () => junk), ...users(0, 5)]);
    await f.projector.start();
    await waitFor(async () => store.counts().users === 5 && (await caughtUp(admin, settings)), {
      what: 'the projector to get past the flood of invalid events',
      timeoutMs: 120_000,
      pollMs: 250,
    });
    const deadLetters = await admin.fetchTopicOffsets(settings.topics.deadLetter);
    assert.equal(
      deadLetters.reduce((sum, o) => sum + Number(o.high), 0),
      invalid,
    );
  }),
);

/** One store projector per consumer group: a second one refuses, naming the group. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Admin, Kafka } from 'kafkajs';
import { startConsumers } from '../../cli/consumers';
import { exited, spawnCairn } from '../../services/config/cairn-process';
import { type ScratchSettings, scratchNamespace } from '../../services/config/scratch-namespace';
import { eventProducer, kafkaClient } from '../../services/events/kafka';
import { projectionHasApplied } from '../../services/events/projection-progress';
import { logEnd } from '../../services/events/store-projector';
import { InteractionStore } from '../../services/store/interaction-store';
import { waitFor } from '../support/wait';
import { within } from './within';

const now = Date.now();

async function publishUsers(
  kafka: Kafka,
  settings: ScratchSettings,
  from: number,
  to: number,
): Promise<void> {
  const producer = eventProducer(kafka);
  await producer.connect();
  await producer.send({
    topic: settings.topics.users,
    acks: -1,
    messages: Array.from({ length: to - from }, (_, i) => {
      const userId = `u${from + i}`;
      const event = {
        eventId: `user-${userId}`,
        type: 'user_created',
        userId,
        occurredAt: now,
        demographics: {},
      };
      return { key: userId, value: JSON.stringify(event) };
    }),
  });
  await producer.disconnect();
}

async function caughtUp(admin: Admin, settings: ScratchSettings): Promise<boolean> {
  return projectionHasApplied(
    admin,
    settings.consumerGroups.store,
    await logEnd(admin, settings.topics, ['users']),
  );
}

test('a second cairn consume on the same consumer group refuses to start and names the group; the first goes on', async () => {
  const settings = await scratchNamespace('grp');
  const kafka = kafkaClient(settings, 'cairn-test');
  const admin = kafka.admin();
  await admin.connect();
  const otherStores = [
    await mkdtemp(join(tmpdir(), 'cairn-test-store-')),
    await mkdtemp(join(tmpdir(), 'cairn-test-store-')),
  ];
  // Users on every partition: a projector handed only some partitions would wait for the rest.
  await publishUsers(kafka, settings, 0, 40);
  const first = spawnCairn(settings, ['consume']);
  let second: ReturnType<typeof spawnCairn> | undefined;
  try {
    await waitFor(() => caughtUp(admin, settings), {
      what: 'the first cairn consume to apply the users',
      timeoutMs: 90_000,
      pollMs: 250,
    });
    second = spawnCairn({ ...settings, storeDir: otherStores[0] }, ['consume']);
    const inProcess = await within(
      startConsumers({ ...settings, storeDir: otherStores[1] }).then(
        (consumers) => consumers.stop().then(() => undefined),
        (error: unknown) => error,
      ),
      { what: 'a third projector on the group to refuse', timeoutMs: 120_000, pollMs: 500 },
    );
    assert.ok(
      inProcess instanceof Error && inProcess.name === 'GroupInUseError',
      `refused with GroupInUseError, got ${inProcess}`,
    );
    assert.match(
      inProcess.message,
      new RegExp(`consumer group '${settings.consumerGroups.store.replaceAll('.', '\\.')}'`),
    );
    await within(exited(second), { what: 'the second cairn consume to refuse', timeoutMs: 120_000 });
    assert.equal(second.exitCode, 1, 'the second cairn consume exits with an error');

    await publishUsers(kafka, settings, 40, 50);
    await waitFor(() => caughtUp(admin, settings), {
      what: 'the first cairn consume to go on applying',
      timeoutMs: 60_000,
      pollMs: 250,
    });
    first.kill('SIGTERM');
    await within(exited(first), { what: 'the first cairn consume to stop on SIGTERM', timeoutMs: 30_000 });
    assert.equal(first.exitCode, 0);
    const store = await InteractionStore.open(settings.storeDir);
    assert.equal(store.counts().users, 50);
    await store.close();
  } finally {
    first.kill('SIGKILL');
    second?.kill('SIGKILL');
    await admin.disconnect();
    for (const dir of otherStores) await rm(dir, { recursive: true, force: true });
    await settings.cleanup();
  }
});

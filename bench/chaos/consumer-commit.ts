/**
 * Fault: `cairn consume` SIGKILLed after the store's checkpoint is fsynced and renamed but before
 * the consumer group's offsets are committed, under click traffic. The consume process is frozen
 * (SIGSTOP) the moment its store directory sees the checkpoint renamed; it is killed there, and
 * whether that was inside the window is checked afterwards: the store's checkpoint ahead of the
 * group's committed offsets. Kafka then redelivers what the store already holds; nothing may be
 * counted twice.
 */
import type { ChildProcess } from 'node:child_process';
import { watch } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import { exited, spawnCairn } from '../../services/config/cairn-process';
import { type ScratchSettings, scratchNamespace } from '../../services/config/scratch-namespace';
import { eventProducer, kafkaClient } from '../../services/events/kafka';
import { waitForProjection } from '../../services/events/projection-progress';
import { InteractionStore } from '../../services/store/interaction-store';
import { clicksAbout, publishClickEntities } from './click-load';
import { auditStore } from './event-audit';
import { type FaultReport, type LoadOptions, measuredReport } from './fault-report';
import { waitFor } from './wait';

export type ConsumerCommitOptions = LoadOptions;

export const consumerCommitDefaults: Omit<ConsumerCommitOptions, 'log'> = {
  rate: 100,
  leadMs: 5_000,
  afterMs: 10_000,
};

export async function consumerCommitFault(options: ConsumerCommitOptions): Promise<FaultReport> {
  const settings = await scratchNamespace('chaos');
  try {
    return await killBetweenCommits(settings, options);
  } finally {
    await settings.cleanup();
  }
}

async function killBetweenCommits(
  settings: ScratchSettings,
  options: ConsumerCommitOptions,
): Promise<FaultReport> {
  const admin = kafkaClient(settings, 'cairn-chaos').admin();
  await admin.connect();
  const producer = eventProducer(kafkaClient(settings, 'cairn-chaos-clicks'));
  await producer.connect();
  let consume: ChildProcess | undefined;
  try {
    const about = await publishClickEntities(producer, settings.topics);
    consume = spawnCairn(settings, ['consume']);
    await caughtUp(admin, settings, 'the store to hold the users and items');
    const load = clicksAbout(producer, settings.topics, options.rate, about);
    try {
      await sleep(options.leadMs / 2);
      const earlier = await committedOffsets(admin, settings);
      await sleep(options.leadMs / 2);
      const injectedAt = performance.now();
      const ahead = await killAfterCheckpoint(consume, admin, settings);
      const how =
        ahead.length > 0
          ? `the kill landed between the store's checkpoint and the group commit (${ahead.join('; ')})`
          : `the group commit had come first, so the window's outcome was made by rewinding the group's commits to ${leadSeconds(options)} s earlier (${(await rewindGroup(admin, settings, earlier)).join('; ')})`;
      options.log(`consumer: ${how}`);
      consume = spawnCairn(settings, ['consume']);
      await caughtUp(admin, settings, 'the restarted consumer to catch up with the log');
      const recoveredAt = performance.now();
      await sleep(options.afterMs);
      const stoppedAt = performance.now();
      const samples = await load.stop();
      await caughtUp(admin, settings, 'the store to apply every click on the log');
      await stopCairn(consume);
      const store = await InteractionStore.open(settings.storeDir);
      const events = await auditStore(store, load.acknowledged).finally(() => store.close());
      return measuredReport(
        'consumer-commit',
        `${options.rate} clicks/s, ${samples.length} clicks; cairn consume SIGKILLed after a store checkpoint, restarted`,
        samples,
        { injectedAt, recoveredAt, stoppedAt, settleMs: 0 },
        events,
        [
          `${how}; the restarted consumer had caught up with the log ${((recoveredAt - injectedAt) / 1000).toFixed(1)} s after the kill (a killed member holds its partitions until its 30 s session time-out)`,
          'latencies and "failed" are the producer\'s (acknowledged later than 2 s): the fault is on the consuming side',
        ],
      );
    } finally {
      await load.stop();
    }
  } finally {
    if (consume !== undefined) await stopCairn(consume);
    await producer.disconnect();
    await admin.disconnect();
  }
}

/**
 * Freezes the consumer as soon as its store renames a new checkpoint into place, reads the
 * group's commits while it is frozen, kills it, and returns the partitions where the store is
 * ahead of the group (empty when the group commit came first).
 */
async function killAfterCheckpoint(
  consume: ChildProcess,
  admin: Admin,
  settings: ScratchSettings,
): Promise<string[]> {
  const renamed = new Promise<void>((resolve) => {
    const watcher = watch(settings.storeDir, (_event, file) => {
      if (file !== 'checkpoint.json') return;
      consume.kill('SIGSTOP');
      watcher.close();
      resolve();
    });
  });
  await Promise.race([
    renamed,
    sleep(30_000).then(() => {
      throw new Error('the store wrote no checkpoint within 30 s');
    }),
  ]);
  const topic = settings.topics.interactions;
  const [committed] = await admin.fetchOffsets({ groupId: settings.consumerGroups.store, topics: [topic] });
  consume.kill('SIGKILL');
  await exited(consume);
  const store = await InteractionStore.open(settings.storeDir);
  try {
    return committed.partitions
      .filter(
        (p) =>
          BigInt(store.nextOffset(topic, p.partition) ?? '0') > BigInt(p.offset === '-1' ? '0' : p.offset),
      )
      .map(
        (p) =>
          `partition ${p.partition}: store at ${store.nextOffset(topic, p.partition)}, group at ${p.offset}`,
      );
  } finally {
    await store.close();
  }
}

const leadSeconds = (options: ConsumerCommitOptions) => (options.leadMs / 2000).toFixed(1);

async function committedOffsets(admin: Admin, settings: ScratchSettings) {
  const [committed] = await admin.fetchOffsets({
    groupId: settings.consumerGroups.store,
    topics: [settings.topics.interactions],
  });
  return committed.partitions;
}

/**
 * Sets the group's commits back to earlier ones, as if the group commits since then had been
 * lost in crashes. Kafka refuses while the killed member still holds the group (until its
 * session times out), so this waits for that.
 */
async function rewindGroup(
  admin: Admin,
  settings: ScratchSettings,
  earlier: { partition: number; offset: string }[],
): Promise<string[]> {
  const partitions = earlier.map((p) => ({
    partition: p.partition,
    offset: p.offset === '-1' ? '0' : p.offset,
  }));
  await waitFor(
    () =>
      admin
        .setOffsets({
          groupId: settings.consumerGroups.store,
          topic: settings.topics.interactions,
          partitions,
        })
        .then(
          () => true,
          () => false,
        ),
    {
      what: "the killed consumer's session to end so its group's commits can be set",
      timeoutMs: 90_000,
      pollMs: 1_000,
    },
  );
  const store = await InteractionStore.open(settings.storeDir);
  try {
    const ahead = partitions.filter(
      (p) => BigInt(store.nextOffset(settings.topics.interactions, p.partition) ?? '0') > BigInt(p.offset),
    );
    if (ahead.length === 0)
      throw new Error('no partition of the store is ahead of the rewound group commits');
    return ahead.map(
      (p) =>
        `partition ${p.partition}: store at ${store.nextOffset(settings.topics.interactions, p.partition)}, group at ${p.offset}`,
    );
  } finally {
    await store.close();
  }
}

async function caughtUp(admin: Admin, settings: ScratchSettings, what: string): Promise<void> {
  const streams = ['users', 'catalog', 'interactions'] as const;
  const signal = AbortSignal.timeout(120_000);
  await waitForProjection(
    admin,
    settings.consumerGroups.store,
    settings.topics,
    streams,
    undefined,
    250,
    signal,
  ).catch((error: Error) => {
    throw new Error(`timed out after 120 s waiting for ${what}`, { cause: error });
  });
}

/** SIGTERM, and SIGKILL when the process has not drained within 30 s. */
export async function stopCairn(consume: ChildProcess): Promise<void> {
  if (consume.exitCode !== null || consume.signalCode !== null) return;
  consume.kill('SIGTERM');
  const stopped = await Promise.race([exited(consume).then(() => true), sleep(30_000, false)]);
  if (!stopped) consume.kill('SIGKILL');
  await exited(consume);
}

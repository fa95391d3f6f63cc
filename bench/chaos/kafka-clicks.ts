/**
 * Fault: the Kafka broker SIGKILLed and restarted while clicks are produced and the store
 * projector consumes them. Private broker; the projector runs in this process. Every click the
 * broker acknowledged must be in the store exactly once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startConsumers } from '../../cli/consumers';
import { type ScratchSettings, scratchNamespace } from '../../services/config/scratch-namespace';
import { eventProducer, kafkaClient } from '../../services/events/kafka';
import { logEnd } from '../../services/events/store-projector';
import { clickBudgetMs, clicksAbout, publishClickEntities } from './click-load';
import { auditStore } from './event-audit';
import { type FaultReport, type LoadOptions, measuredReport } from './fault-report';
import { startPrivateStack } from './private-stack';
import { waitFor } from './wait';

export interface KafkaClicksOptions extends LoadOptions {
  /** How long the broker stays down before it is started again. */
  downMs: number;
  /** "After" is the clicks sent from this long after the broker is healthy again. */
  settleMs: number;
}

export const kafkaClicksDefaults: Omit<KafkaClicksOptions, 'log'> = {
  rate: 100,
  leadMs: 5_000,
  downMs: 5_000,
  // kafkajs waits up to its 30 s maximum retry time between reconnection attempts, so produce
  // may resume that long after the broker is back (20 s in one run here): "after" starts then.
  afterMs: 40_000,
  settleMs: 30_000,
};

export async function kafkaClicksFault(options: KafkaClicksOptions): Promise<FaultReport> {
  options.log('kafka: starting a private broker');
  const stack = await startPrivateStack(['kafka']);
  try {
    const settings = await scratchNamespace('chaos');
    try {
      return await clicksThroughCrash(settings, stack.server('kafka'), options);
    } finally {
      await settings.cleanup();
    }
  } finally {
    await stack.remove();
  }
}

async function clicksThroughCrash(
  settings: ScratchSettings,
  broker: { kill(): void; restart(): Promise<void> },
  options: KafkaClicksOptions,
): Promise<FaultReport> {
  const kafka = kafkaClient(settings, 'cairn-chaos');
  const admin = kafka.admin();
  await admin.connect();
  const producer = eventProducer(kafkaClient(settings, 'cairn-chaos-clicks'));
  await producer.connect();
  // A fresh broker elects the leaders of new topics a moment after creating them.
  await waitFor(
    () =>
      logEnd(admin, settings.topics, ['users', 'catalog', 'interactions']).then(
        (ends) => ends.length > 0,
        () => false,
      ),
    { what: 'the leaders of the scratch topics', timeoutMs: 30_000, pollMs: 250 },
  );
  const about = await publishClickEntities(producer, settings.topics);
  const consumers = await startConsumers(settings);
  try {
    await waitFor(
      () =>
        consumers.store.counts().items === about.items.length &&
        consumers.store.counts().users === about.users.length,
      {
        what: 'the store to hold the users and items',
        timeoutMs: 60_000,
      },
    );
    const load = clicksAbout(producer, settings.topics, options.rate, about);
    try {
      await sleep(options.leadMs);
      const injectedAt = performance.now();
      options.log(`kafka: SIGKILL the broker after ${load.started()} clicks`);
      broker.kill();
      await sleep(options.downMs);
      await broker.restart();
      const recoveredAt = performance.now();
      options.log(`kafka: broker healthy again after ${((recoveredAt - injectedAt) / 1000).toFixed(1)} s`);
      await sleep(options.afterMs);
      const stoppedAt = performance.now();
      const samples = await load.stop();
      const ends = await logEnd(admin, settings.topics, ['interactions']);
      await waitFor(
        () =>
          ends.every(
            (end) => BigInt(consumers.store.nextOffset(end.topic, end.partition) ?? '0') >= end.high,
          ),
        { what: 'the store to apply every click on the log', timeoutMs: 180_000, pollMs: 250 },
      );
      const events = await auditStore(consumers.store, load.acknowledged);
      const onLog = ends.reduce((sum, end) => sum + Number(end.high), 0);
      return measuredReport(
        'kafka-clicks',
        `${options.rate} clicks/s, ${samples.length} clicks; broker SIGKILLed, down ${options.downMs / 1000} s + restart`,
        samples,
        { injectedAt, recoveredAt, stoppedAt, settleMs: options.settleMs },
        events,
        [
          `${onLog} messages on the log for ${load.acknowledged.size} acknowledged clicks (${onLog - load.acknowledged.size} copies from retried sends, deduplicated by event id)`,
          `"failed" = clicks acknowledged after more than ${clickBudgetMs / 1000} s or only on a retried send; the broker was healthy again ${((recoveredAt - injectedAt) / 1000).toFixed(1)} s after the kill; "after" = clicks sent from ${options.settleMs / 1000} s after that`,
        ],
      );
    } finally {
      await load.stop();
    }
  } finally {
    await consumers.stop();
    await producer.disconnect();
    await admin.disconnect();
  }
}

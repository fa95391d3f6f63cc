/** `cairn realtime`: the session consumer, until interrupted. */
import type { CairnSettings } from '../services/config/environment';
import { natsConnection } from '../services/config/nats-connection';
import { kafkaClient } from '../services/events/kafka';
import { ensureTopics } from '../services/events/topics';
import { watchConsumerLag } from '../services/observability/consumer-lag';
import { log } from '../services/observability/log';
import { serveMetrics } from '../services/observability/metrics-endpoint';
import { sessionBucket, sessionGroup } from '../services/realtime/realtime-config';
import { SessionConsumer } from '../services/realtime/session-consumer';

export async function runRealtime(settings: CairnSettings): Promise<number> {
  const kafka = kafkaClient(settings, 'cairn-realtime');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, settings.topics, settings.env.CAIRN_TOPIC_PARTITIONS).finally(() =>
    admin.disconnect(),
  );
  const metrics = await serveMetrics(settings, { temporal: false });
  const lag =
    metrics === undefined
      ? undefined
      : await watchConsumerLag(kafka, [
          { groupId: sessionGroup(settings), topics: [settings.topics.interactions] },
        ]);
  const nats = await natsConnection(settings);
  const consumer = new SessionConsumer({ kafka, nats, settings, log: (line) => log.warn(line) });
  try {
    await consumer.start();
    log.info(
      { topic: settings.topics.interactions, group: sessionGroup(settings), bucket: sessionBucket(settings) },
      'keeping sessions',
    );
    const report = setInterval(() => log.info({ written: consumer.written }, 'session writes'), 30_000);
    let health: NodeJS.Timeout | undefined;
    const failure = await new Promise<Error | undefined>((resolve) => {
      process.once('SIGINT', () => resolve(undefined));
      process.once('SIGTERM', () => resolve(undefined));
      health = setInterval(() => {
        const error = consumer.failure();
        if (error !== undefined) resolve(error);
      }, 1_000);
    });
    clearInterval(report);
    clearInterval(health);
    if (failure !== undefined) {
      log.error({ err: failure }, 'cairn realtime: cannot keep sessions right');
      return 1;
    }
    return 0;
  } finally {
    await consumer.stop();
    await nats.drain();
    await lag?.stop();
    await metrics?.close();
  }
}

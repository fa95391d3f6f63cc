/** `cairn realtime`: the session consumer, until interrupted. */
import type { CairnSettings } from '../services/config/environment';
import { natsConnection } from '../services/config/nats-connection';
import { kafkaClient } from '../services/events/kafka';
import { ensureTopics } from '../services/events/topics';
import { sessionBucket, sessionGroup } from '../services/realtime/realtime-config';
import { SessionConsumer } from '../services/realtime/session-consumer';

export async function runRealtime(settings: CairnSettings): Promise<number> {
  const kafka = kafkaClient(settings, 'cairn-realtime');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, settings.topics, settings.env.CAIRN_TOPIC_PARTITIONS).finally(() =>
    admin.disconnect(),
  );
  const nats = await natsConnection(settings);
  const consumer = new SessionConsumer({ kafka, nats, settings, log: (line) => console.error(line) });
  try {
    await consumer.start();
    console.log(
      `sessions from ${settings.topics.interactions} (group ${sessionGroup(settings)}) into bucket ${sessionBucket(settings)}`,
    );
    const report = setInterval(() => console.log(`session writes ${consumer.written}`), 30_000);
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
      console.error(`cairn realtime: ${failure.message}`);
      return 1;
    }
    return 0;
  } finally {
    await consumer.stop();
    await nats.drain();
  }
}

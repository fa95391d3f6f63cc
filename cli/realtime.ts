/** `cairn realtime`: the session consumer, until interrupted. */
import type { CairnSettings } from '../services/config/environment';
import { natsConnection } from '../services/config/nats-connection';
import { kafkaClient } from '../services/events/kafka';
import { ensureTopics } from '../services/events/topics';
import { sessionBucket, sessionGroup } from '../services/realtime/realtime-config';
import { SessionConsumer } from '../services/realtime/session-consumer';

export async function runRealtime(settings: CairnSettings): Promise<void> {
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
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    clearInterval(report);
  } finally {
    await consumer.stop();
    await nats.drain();
  }
}

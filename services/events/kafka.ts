/** One place that builds kafkajs clients from settings, so every producer and consumer agrees. */
import { Kafka, logLevel } from 'kafkajs';
import type { CairnSettings } from '../config/environment';

export function kafkaClient(settings: CairnSettings, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: settings.kafkaBrokers,
    logLevel: logLevel.WARN,
    retry: { retries: 8, initialRetryTime: 200 },
  });
}

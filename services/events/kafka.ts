/** One place that builds kafkajs clients from settings, so every producer and consumer agrees. */
import { Kafka, logLevel } from 'kafkajs';
import type { CairnSettings } from '../config/environment';

// kafkajs warns that its default partitioner changed in v2; the new default (murmur2, as in the
// Java client) is the one Cairn wants, so that other clients agree on a key's partition.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

export function kafkaClient(settings: CairnSettings, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: settings.kafkaBrokers,
    logLevel: logLevel.WARN,
    retry: { retries: 8, initialRetryTime: 200 },
  });
}

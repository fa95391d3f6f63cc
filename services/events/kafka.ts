/** One place that builds kafkajs clients from settings, so every producer and consumer agrees. */
import { Kafka, logLevel, type Producer } from 'kafkajs';
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

/**
 * Producers of the event log: acks from all in-sync replicas, one request in flight so a retry
 * cannot reorder a key's events. Not kafkajs' idempotent mode: that wants unbounded retries, and
 * duplicates from a retried send are already harmless because every consumer dedupes by event id.
 */
export function eventProducer(kafka: Kafka): Producer {
  return kafka.producer({ maxInFlightRequests: 1, allowAutoTopicCreation: false });
}

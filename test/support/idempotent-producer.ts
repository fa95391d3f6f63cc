import type { Kafka, Producer } from 'kafkajs';

/**
 * A producer for tests that count what lands in the log. kafkajs retries a broker's whole produce
 * request when one of its partitions fails (a new topic's "not the leader"), so the partitions
 * that had succeeded are written again; Cairn's consumers dedupe valid events by id, but a test
 * counting events, duplicates or dead letters then sees the copies. The idempotent mode has the
 * broker drop the retried batches it already has.
 */
export function idempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
}

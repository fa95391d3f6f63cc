/** One place that builds kafkajs clients from settings, so every producer and consumer agrees. */
import { Kafka, type KafkaConfig, type logCreator, logLevel, type Producer, type SASLOptions } from 'kafkajs';
import { type CairnSettings, readPem } from '../config/environment';
import { log } from '../observability/log';

// kafkajs warns that its default partitioner changed in v2; the new default (murmur2, as in the
// Java client) is the one Cairn wants, so that other clients agree on a key's partition.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

/** Brokers, TLS and SASL/SCRAM from the settings: what every Kafka client of Cairn connects with. */
export function kafkaConnection(settings: CairnSettings): Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'> {
  const { env } = settings;
  const tls = env.KAFKA_TLS === 'true' || env.KAFKA_TLS_CA !== undefined;
  const credentials = { username: env.KAFKA_SASL_USERNAME ?? '', password: env.KAFKA_SASL_PASSWORD ?? '' };
  const sasl: SASLOptions | undefined =
    env.KAFKA_SASL_MECHANISM === 'scram-sha-256'
      ? { mechanism: 'scram-sha-256', ...credentials }
      : env.KAFKA_SASL_MECHANISM === 'scram-sha-512'
        ? { mechanism: 'scram-sha-512', ...credentials }
        : undefined;
  return {
    brokers: settings.kafkaBrokers,
    ...(tls
      ? { ssl: env.KAFKA_TLS_CA === undefined ? true : { ca: [readPem(env.KAFKA_TLS_CA, 'KAFKA_TLS_CA')] } }
      : {}),
    ...(sasl === undefined ? {} : { sasl }),
  };
}

const kafkaLevels = {
  [logLevel.NOTHING]: 'silent',
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
} as const;

/** kafkajs' lines go into the process's structured log (its own time and logger name dropped). */
const structuredKafkaLog: logCreator =
  () =>
  ({ namespace, level, log: { message, timestamp: _, logger: __, ...fields } }) => {
    const method = kafkaLevels[level];
    if (method !== 'silent') log[method]({ ...fields, source: 'kafkajs', namespace }, message);
  };

export function kafkaClient(settings: CairnSettings, clientId: string): Kafka {
  return new Kafka({
    clientId,
    ...kafkaConnection(settings),
    logLevel: logLevel.WARN,
    logCreator: structuredKafkaLog,
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

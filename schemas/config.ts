/** The process environment Cairn reads, validated once at start-up with messages that name the variable. */
import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65535);
const hostPort = z.string().regex(/^[A-Za-z0-9.\-[\]:]+:[0-9]{1,5}$/, 'expected host:port');

export const environmentSchema = z.object({
  /** Remote servers: when set, `cairn stack` leaves that server alone and only checks it. */
  TEMPORAL_ADDRESS: hostPort.optional(),
  KAFKA_BROKERS: z
    .string()
    .regex(/^[^,\s]+:[0-9]{1,5}(,[^,\s]+:[0-9]{1,5})*$/, 'expected a comma-separated list of host:port')
    .optional(),
  ELASTICSEARCH_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  NATS_URL: z
    .string()
    .regex(/^(nats|tls):\/\/[^,\s]+(,(nats|tls):\/\/[^,\s]+)*$/, 'expected nats://host:port[,…]')
    .optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).optional(),
  /** Local stack ports (standard ones by default). */
  CAIRN_TEMPORAL_PORT: port.default(7233),
  CAIRN_TEMPORAL_UI_PORT: port.default(8233),
  CAIRN_KAFKA_PORT: port.default(9092),
  CAIRN_KAFKA_CONTROLLER_PORT: port.default(9093),
  CAIRN_ELASTICSEARCH_PORT: port.default(9200),
  CAIRN_ELASTICSEARCH_TRANSPORT_PORT: port.default(9300),
  CAIRN_NATS_PORT: port.default(4222),
  /**
   * Prefix of every topic, consumer group and index name: a test run's or a tenant's own set on a
   * shared cluster. Empty (the default) gives the public names.
   */
  CAIRN_PREFIX: z
    .string()
    .regex(/^[a-z0-9._-]*$/, 'lower-case letters, digits, . _ - only')
    .default(''),
  /** Partitions of each topic when Cairn creates it (the unit of consumer parallelism). */
  CAIRN_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(256).default(4),
  /** Downloads and installed servers (kept between runs) and the running stack's data, logs and pids. */
  CAIRN_CACHE: z.string().min(1).optional(),
  CAIRN_STATE: z.string().min(1).optional(),
  /** Training snapshots kept besides the ones releases reference: the most recently taken. */
  CAIRN_SNAPSHOTS_KEEP: z.coerce.number().int().min(1).max(1000).default(3),
  /** The interaction store's directory (default: CAIRN_STATE/store). */
  CAIRN_STORE: z.string().min(1).optional(),
});

export type Environment = z.output<typeof environmentSchema>;

/** The process environment Cairn reads, validated once at start-up with messages that name the variable. */
import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65535);
const hostPort = z.string().regex(/^[A-Za-z0-9.\-[\]:]+:[0-9]{1,5}$/, 'expected host:port');

/** Case-insensitive, since Temporal spells its levels in capitals (CAIRN_LOG_LEVEL=WARN). */
export const logLevelSchema = z
  .string()
  .toLowerCase()
  .pipe(z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']));
export type LogLevel = z.output<typeof logLevelSchema>;

export const environmentSchema = z
  .object({
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
    /**
     * Credentials and TLS of remote clusters (README, Security). Secrets are only ever handed to
     * the clients: never printed, and `redactSecrets` strips them from any text that is.
     */
    NATS_USER: z.string().min(1).optional(),
    NATS_PASSWORD: z.string().min(1).optional(),
    NATS_TOKEN: z.string().min(1).optional(),
    /** PEM file of the CA that signed the NATS server's certificate (turns TLS on). */
    NATS_TLS_CA: z.string().min(1).optional(),
    KAFKA_SASL_MECHANISM: z.enum(['scram-sha-256', 'scram-sha-512']).optional(),
    KAFKA_SASL_USERNAME: z.string().min(1).optional(),
    KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
    KAFKA_TLS: z.enum(['true', 'false']).default('false'),
    /** PEM file of the brokers' CA (turns TLS on). */
    KAFKA_TLS_CA: z.string().min(1).optional(),
    ELASTICSEARCH_API_KEY: z.string().min(1).optional(),
    ELASTICSEARCH_USERNAME: z.string().min(1).optional(),
    ELASTICSEARCH_PASSWORD: z.string().min(1).optional(),
    /** PEM file of the CA of an https ELASTICSEARCH_URL with a private CA. */
    ELASTICSEARCH_TLS_CA: z.string().min(1).optional(),
    /** mTLS to the Temporal frontend: the client's certificate and key (PEM files), both or neither. */
    TEMPORAL_TLS_CERT: z.string().min(1).optional(),
    TEMPORAL_TLS_KEY: z.string().min(1).optional(),
    /** PEM file of the frontend's CA, when it is not a public one (turns TLS on). */
    TEMPORAL_TLS_CA: z.string().min(1).optional(),
    /** The name the frontend's certificate is for, when it is not the host of TEMPORAL_ADDRESS. */
    TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
    /** The local stack's NATS server presents this certificate and key (PEM files) and requires TLS. */
    CAIRN_NATS_SERVER_CERT: z.string().min(1).optional(),
    CAIRN_NATS_SERVER_KEY: z.string().min(1).optional(),
    /** The local stack's Kafka broker listens with TLS, with this certificate and key (PEM files). */
    CAIRN_KAFKA_SERVER_CERT: z.string().min(1).optional(),
    CAIRN_KAFKA_SERVER_KEY: z.string().min(1).optional(),
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
    /** Prometheus `/metrics` of a long-running process (serve, consume, realtime, worker); 0: none. */
    CAIRN_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(0),
    /** The address the metrics endpoint listens on (0.0.0.0 for a scraper on another host). */
    CAIRN_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
    /** The least severe structured log line written (JSON lines on stderr). */
    CAIRN_LOG_LEVEL: logLevelSchema.default('info'),
  })
  .superRefine((env, context) => {
    // Messages name variables only: a value may be a secret.
    const problem = (variable: string, message: string) =>
      context.addIssue({ code: 'custom', path: [variable], message });
    const pair = (a: keyof typeof env, b: keyof typeof env) => {
      if ((env[a] === undefined) !== (env[b] === undefined))
        problem(env[a] === undefined ? a : b, `set together with ${env[a] === undefined ? b : a}`);
    };
    pair('NATS_USER', 'NATS_PASSWORD');
    if (env.NATS_TOKEN !== undefined && env.NATS_USER !== undefined)
      problem('NATS_TOKEN', 'either NATS_TOKEN or NATS_USER/NATS_PASSWORD, not both');
    pair('KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD');
    if ((env.KAFKA_SASL_MECHANISM === undefined) !== (env.KAFKA_SASL_USERNAME === undefined))
      problem('KAFKA_SASL_MECHANISM', 'set together with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD');
    pair('ELASTICSEARCH_USERNAME', 'ELASTICSEARCH_PASSWORD');
    if (env.ELASTICSEARCH_API_KEY !== undefined && env.ELASTICSEARCH_USERNAME !== undefined)
      problem(
        'ELASTICSEARCH_API_KEY',
        'either ELASTICSEARCH_API_KEY or ELASTICSEARCH_USERNAME/PASSWORD, not both',
      );
    if (env.ELASTICSEARCH_TLS_CA !== undefined && !env.ELASTICSEARCH_URL?.startsWith('https:'))
      problem('ELASTICSEARCH_TLS_CA', 'needs an https ELASTICSEARCH_URL');
    pair('TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY');
    pair('CAIRN_NATS_SERVER_CERT', 'CAIRN_NATS_SERVER_KEY');
    pair('CAIRN_KAFKA_SERVER_CERT', 'CAIRN_KAFKA_SERVER_KEY');
  });

export type Environment = z.output<typeof environmentSchema>;

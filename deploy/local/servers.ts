/**
 * The four servers of the local stack: how each is prepared, launched as a plain process, and
 * probed. A probe answers with the server's version only when the server is really usable
 * (Temporal serves its API, Kafka has a controller, Elasticsearch answers, NATS has JetStream).
 */

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { Connection } from '@temporalio/client';
import { Kafka, logLevel } from 'kafkajs';
import { searchConnection } from '../../services/catalog/elasticsearch';
import { type CairnSettings, repositoryRoot } from '../../services/config/environment';
import { natsConnection } from '../../services/config/nats-connection';
import { redactUrl } from '../../services/config/redaction';
import { kafkaConnection } from '../../services/events/kafka';
import { temporalConnection } from '../../services/orchestration/temporal';

export type ServerName = 'temporal' | 'kafka' | 'elasticsearch' | 'nats';

export interface Launch {
  file: string;
  args: string[];
  env?: Record<string, string>;
}

export interface ServerDefinition {
  name: ServerName;
  address: string;
  /** The TCP port a local instance listens on (to detect a foreign process holding it). */
  port: number;
  isLocal: boolean;
  /** Writes configuration and initialises storage; idempotent. */
  prepare(dir: string): Promise<void>;
  launch(dir: string): Launch;
  /** Resolves to a version string when healthy; rejects otherwise. */
  probe(): Promise<string>;
}

export function stackServers(settings: CairnSettings): ServerDefinition[] {
  const { env, cacheDir } = settings;
  return [
    {
      name: 'temporal',
      address: settings.temporalAddress,
      port: env.CAIRN_TEMPORAL_PORT,
      isLocal: settings.local.temporal,
      async prepare() {},
      launch: (dir) => ({
        file: join(cacheDir, 'venv', 'bin', 'temporal'),
        args: [
          'server',
          'start-dev',
          '--ip',
          '127.0.0.1',
          '--port',
          String(env.CAIRN_TEMPORAL_PORT),
          '--ui-port',
          String(env.CAIRN_TEMPORAL_UI_PORT),
          // SQLite on disk so that a restart keeps workflow histories: they are part of the record.
          '--db-filename',
          join(dir, 'temporal.db'),
          '--log-level',
          'warn',
          // The dev server's default cache of workflows' mutable state holds far fewer than the
          // open item lifecycles (one per catalog item): past it a signal reloads the workflow
          // from SQLite. Midway through the count signals of a 1,000-item lifecycle bench that
          // was 23 loads per item, against under 2.2 with this size. A cached workflow is a few KB.
          '--dynamic-config-value',
          'history.hostLevelCacheMaxSize=200000',
        ],
      }),
      probe: () => probeTemporal(settings),
    },
    {
      name: 'kafka',
      address: settings.kafkaBrokers.join(','),
      port: env.CAIRN_KAFKA_PORT,
      isLocal: settings.local.kafka,
      prepare: (dir) => prepareKafka(dir, settings),
      launch: (dir) => ({
        file: 'java',
        args: [
          '-Xms512m',
          '-Xmx1g',
          '-XX:+UseG1GC',
          `-Dkafka.logs.dir=${join(dir, 'logs')}`,
          `-Dlog4j.configuration=file:${join(repositoryRoot, 'deploy/local/kafka/log4j.properties')}`,
          '-cp',
          `${join(cacheDir, 'kafka', 'libs')}/*`,
          'kafka.Kafka',
          join(dir, 'server.properties'),
        ],
      }),
      probe: () => probeKafka(settings),
    },
    {
      name: 'elasticsearch',
      address: redactUrl(settings.elasticsearchUrl),
      port: env.CAIRN_ELASTICSEARCH_PORT,
      isLocal: settings.local.elasticsearch,
      async prepare() {},
      launch: (dir) => ({
        file: 'bash',
        args: [join(repositoryRoot, 'deploy/local/elasticsearch/run.sh')],
        env: {
          CAIRN_CACHE: cacheDir,
          ES_HTTP_PORT: String(env.CAIRN_ELASTICSEARCH_PORT),
          ES_TRANSPORT_PORT: String(env.CAIRN_ELASTICSEARCH_TRANSPORT_PORT),
          ES_DATA_DIR: dir,
        },
      }),
      probe: () => probeElasticsearch(settings),
    },
    {
      name: 'nats',
      address: redactUrl(settings.natsUrl),
      port: env.CAIRN_NATS_PORT,
      isLocal: settings.local.nats,
      async prepare(dir) {
        await mkdir(join(dir, 'jetstream'), { recursive: true });
        await writeNatsConfig(join(dir, 'nats.conf'), settings);
      },
      launch: (dir) => ({
        file: 'nats-server',
        args: [
          '-c',
          join(dir, 'nats.conf'),
          '-a',
          '127.0.0.1',
          '-p',
          String(env.CAIRN_NATS_PORT),
          '-js',
          '-sd',
          join(dir, 'jetstream'),
        ],
      }),
      probe: () => probeNats(settings),
    },
  ];
}

/**
 * With NATS_USER/NATS_PASSWORD or NATS_TOKEN set, the local server requires them; with
 * CAIRN_NATS_SERVER_CERT/KEY, it requires TLS. Credentials go in a file only its owner reads,
 * not on the command line where any process list shows them.
 */
async function writeNatsConfig(file: string, { env }: CairnSettings): Promise<void> {
  const lines: string[] = [];
  if (env.NATS_USER !== undefined)
    lines.push(
      `authorization { user: ${JSON.stringify(env.NATS_USER)}, password: ${JSON.stringify(env.NATS_PASSWORD)} }`,
    );
  if (env.NATS_TOKEN !== undefined) lines.push(`authorization { token: ${JSON.stringify(env.NATS_TOKEN)} }`);
  if (env.CAIRN_NATS_SERVER_CERT !== undefined)
    lines.push(
      `tls { cert_file: ${JSON.stringify(env.CAIRN_NATS_SERVER_CERT)}, key_file: ${JSON.stringify(env.CAIRN_NATS_SERVER_KEY)} }`,
    );
  await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
}

/**
 * With KAFKA_SASL_MECHANISM set, the local broker requires SASL/SCRAM, its user created when the
 * storage is formatted (so only for a new state directory); with CAIRN_KAFKA_SERVER_CERT/KEY, TLS
 * (and it trusts KAFKA_TLS_CA for its own connections). Its config file then holds the password,
 * and the key file the private key: readable by their owner only.
 */
async function prepareKafka(dir: string, { env, cacheDir }: CairnSettings) {
  const port = env.CAIRN_KAFKA_PORT;
  const controllerPort = env.CAIRN_KAFKA_CONTROLLER_PORT;
  const dataDir = join(dir, 'data');
  await mkdir(join(dir, 'logs'), { recursive: true });
  const mechanism = env.KAFKA_SASL_MECHANISM?.toUpperCase();
  const tls = env.CAIRN_KAFKA_SERVER_CERT !== undefined && env.CAIRN_KAFKA_SERVER_KEY !== undefined;
  const listener = `${mechanism === undefined ? '' : 'SASL_'}${tls ? 'SSL' : 'PLAINTEXT'}`;
  const scram =
    mechanism === undefined
      ? []
      : [
          `sasl.enabled.mechanisms=${mechanism}`,
          `sasl.mechanism.inter.broker.protocol=${mechanism}`,
          `listener.name.${listener.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config=` +
            `org.apache.kafka.common.security.scram.ScramLoginModule required ` +
            `username=${JSON.stringify(env.KAFKA_SASL_USERNAME)} password=${JSON.stringify(env.KAFKA_SASL_PASSWORD)};`,
        ];
  const keystore = join(dir, 'keystore.pem');
  if (tls) {
    const [key, cert] = await Promise.all([
      readFile(env.CAIRN_KAFKA_SERVER_KEY ?? '', 'utf8'),
      readFile(env.CAIRN_KAFKA_SERVER_CERT ?? '', 'utf8'),
    ]);
    await writeFile(keystore, `${key.trim()}\n${cert.trim()}\n`, { mode: 0o600 });
  }
  const ssl = !tls
    ? []
    : [
        'ssl.keystore.type=PEM',
        `ssl.keystore.location=${keystore}`,
        ...(env.KAFKA_TLS_CA === undefined
          ? []
          : ['ssl.truststore.type=PEM', `ssl.truststore.location=${env.KAFKA_TLS_CA}`]),
      ];
  const properties = [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=${listener}://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=${listener}://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    `listener.security.protocol.map=${listener}:${listener},CONTROLLER:PLAINTEXT`,
    `inter.broker.listener.name=${listener}`,
    ...scram,
    ...ssl,
    `log.dirs=${dataDir}`,
    'num.partitions=4',
    // A single broker: every internal topic must be satisfiable with one replica.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=8',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    // Topics are part of Cairn's contract and are created by it, with their partitioning.
    'auto.create.topics.enable=false',
    'group.initial.rebalance.delay.ms=0',
    // The event log is the record: keep it.
    'log.retention.hours=-1',
    '',
  ].join('\n');
  await writeFile(join(dir, 'server.properties'), properties, { mode: 0o600 });
  await chmod(join(dir, 'server.properties'), 0o600);
  if (existsSync(join(dataDir, 'meta.properties'))) return;
  const classpath = `${join(cacheDir, 'kafka', 'libs')}/*`;
  const uuid = spawnSync('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'random-uuid'], {
    encoding: 'utf8',
  });
  const clusterId = uuid.stdout.trim().split('\n').pop() ?? '';
  const format = spawnSync(
    'java',
    [
      '-cp',
      classpath,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      join(dir, 'server.properties'),
      ...(mechanism === undefined
        ? []
        : [
            '--add-scram',
            `${mechanism}=[name=${env.KAFKA_SASL_USERNAME},password=${env.KAFKA_SASL_PASSWORD}]`,
          ]),
    ],
    { encoding: 'utf8' },
  );
  if (format.status !== 0) throw new Error(`kafka storage format failed: ${format.stderr || format.stdout}`);
}

async function probeTemporal(settings: CairnSettings): Promise<string> {
  const connection = await Connection.connect({ ...temporalConnection(settings), connectTimeout: '2s' });
  try {
    const info = await connection.workflowService.getSystemInfo({});
    return `server ${info.serverVersion}`;
  } finally {
    await connection.close();
  }
}

async function probeKafka(settings: CairnSettings): Promise<string> {
  const kafka = new Kafka({
    clientId: 'cairn-stack-probe',
    ...kafkaConnection(settings),
    connectionTimeout: 2000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    if (cluster.controller === null) throw new Error('no active controller yet');
    // Kafka does not tell clients its release; a local broker's release is the jar we installed.
    const version = settings.local.kafka ? await installedKafkaVersion(settings.cacheDir) : 'remote';
    return `${version} (${cluster.brokers.length} broker(s), controller ${cluster.controller})`;
  } finally {
    await admin.disconnect();
  }
}

async function installedKafkaVersion(cacheDir: string): Promise<string> {
  const jars = await readdir(join(cacheDir, 'kafka', 'libs'));
  const broker = jars.find((j) => /^kafka_2\.13-.*\.jar$/.test(j));
  return broker?.replace(/^kafka_2\.13-(.*)\.jar$/, '$1') ?? 'unknown';
}

async function probeElasticsearch(settings: CairnSettings): Promise<string> {
  const client = new Client({ ...searchConnection(settings), requestTimeout: 2000, maxRetries: 0 });
  try {
    const info = await client.info();
    const { status } = await client.cluster.health();
    if (status !== 'green' && status !== 'yellow') throw new Error(`cluster status ${status}`);
    return `elasticsearch ${info.version.number} (${status})`;
  } finally {
    await client.close();
  }
}

async function probeNats(settings: CairnSettings): Promise<string> {
  const nc = await natsConnection(settings, { timeout: 2000, reconnect: false });
  try {
    const info = nc.info;
    if (!info?.jetstream) throw new Error('JetStream is not enabled');
    return `${info.version} (JetStream)`;
  } finally {
    await nc.close();
  }
}

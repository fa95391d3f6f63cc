/** Resolves where every server and directory is, from the validated environment. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Environment, environmentSchema } from '../../schemas/config';
import { temporalConfig } from '../../temporal.config';
import { type TopicSet, topicNames } from '../events/topics';

export const repositoryRoot = resolve(__dirname, '..', '..');

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface CairnSettings {
  env: Environment;
  cacheDir: string;
  stateDir: string;
  dataDir: string;
  /** The interaction store: derived state, rebuilt from the event log by `cairn store rebuild`. */
  storeDir: string;
  /** Frozen copies of the store that retrains train on, by content checksum. */
  snapshotsDir: string;
  /** Snapshots kept besides those releases reference (CAIRN_SNAPSHOTS_KEEP). */
  snapshotsKeep: number;
  temporalAddress: string;
  kafkaBrokers: string[];
  elasticsearchUrl: string;
  natsUrl: string;
  /** CAIRN_PREFIX: namespaces topics, groups, indexes, task queues and workflow ids. */
  prefix: string;
  pipelineTaskQueue: string;
  topics: TopicSet;
  consumerGroups: { store: string; catalog: string };
  catalogIndex: string;
  /** The serving alias of the item-vector indexes. */
  itemsAlias: string;
  registryBucket: string;
  /** The NATS request-reply subject of serving. */
  recommendSubject: string;
  /** Which servers the local stack manages (the others are remote and only checked). */
  local: { temporal: boolean; kafka: boolean; elasticsearch: boolean; nats: boolean };
}

export function readSettings(source: NodeJS.ProcessEnv = process.env): CairnSettings {
  const parsed = environmentSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration in the environment:\n${lines.join('\n')}`);
  }
  const env = parsed.data;
  const cacheDir = resolve(env.CAIRN_CACHE ?? resolve(repositoryRoot, '.cache'));
  const stateDir = resolve(env.CAIRN_STATE ?? resolve(repositoryRoot, '.state'));
  return {
    env,
    cacheDir,
    stateDir,
    dataDir: resolve(cacheDir, 'data'),
    storeDir: resolve(env.CAIRN_STORE ?? resolve(stateDir, 'store')),
    snapshotsDir: resolve(stateDir, 'snapshots'),
    snapshotsKeep: env.CAIRN_SNAPSHOTS_KEEP,
    temporalAddress: env.TEMPORAL_ADDRESS ?? `127.0.0.1:${env.CAIRN_TEMPORAL_PORT}`,
    kafkaBrokers: (env.KAFKA_BROKERS ?? `127.0.0.1:${env.CAIRN_KAFKA_PORT}`).split(','),
    elasticsearchUrl: env.ELASTICSEARCH_URL ?? `http://127.0.0.1:${env.CAIRN_ELASTICSEARCH_PORT}`,
    prefix: env.CAIRN_PREFIX,
    pipelineTaskQueue: `${env.CAIRN_PREFIX}${temporalConfig.taskQueues.pipeline}`,
    topics: topicNames(env.CAIRN_PREFIX),
    consumerGroups: {
      store: `${env.CAIRN_PREFIX}cairn-store`,
      catalog: `${env.CAIRN_PREFIX}cairn-catalog-index`,
    },
    catalogIndex: `${env.CAIRN_PREFIX}cairn-catalog`,
    itemsAlias: `${env.CAIRN_PREFIX}cairn-items`,
    // JetStream bucket names allow no dots.
    registryBucket: `${env.CAIRN_PREFIX.replaceAll('.', '-')}cairn-models`,
    recommendSubject: `${env.CAIRN_PREFIX}cairn.recommend.v1`,
    natsUrl: env.NATS_URL ?? `nats://127.0.0.1:${env.CAIRN_NATS_PORT}`,
    local: {
      temporal: env.TEMPORAL_ADDRESS === undefined,
      kafka: env.KAFKA_BROKERS === undefined,
      elasticsearch: env.ELASTICSEARCH_URL === undefined,
      nats: env.NATS_URL === undefined,
    },
  };
}

/** A PEM file named by a setting; an unreadable one is an error naming the setting. */
export function readPem(path: string, variable: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(
      `${variable}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

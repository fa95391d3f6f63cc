/**
 * Cairn's Kafka topics, created by the project (brokers run with auto-creation off). Keys keep
 * one entity's events on one partition, hence in order.
 *
 * Code speaks of streams (interactions, catalog, …); the topic names are the public contract.
 * A prefix (CAIRN_TOPIC_PREFIX) gives a test run or a tenant its own set on a shared cluster.
 */
import type { Admin } from 'kafkajs';

export const eventStreams = ['interactions', 'impressions', 'catalog', 'users'] as const;
export type EventStream = (typeof eventStreams)[number];
/** Besides the event streams: dead letters, and email slates (derived output, never projected). */
export type Stream = EventStream | 'deadLetter' | 'emailSlates';

export type TopicSet = Record<Stream, string>;

export function topicNames(prefix = ''): TopicSet {
  return {
    interactions: `${prefix}cairn.interactions.v1`,
    impressions: `${prefix}cairn.impressions.v1`,
    catalog: `${prefix}cairn.catalog.v1`,
    users: `${prefix}cairn.users.v1`,
    deadLetter: `${prefix}cairn.deadletter.v1`,
    emailSlates: `${prefix}cairn.email-slates.v1`,
  };
}

/** The contract's names. */
export const topics = topicNames();

export function streamOf(set: TopicSet, topic: string): Stream | undefined {
  return (Object.keys(set) as Stream[]).find((stream) => set[stream] === topic);
}

/** Creates the missing topics; existing ones are left as they are. */
export async function ensureTopics(admin: Admin, set: TopicSet, partitions: number): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = Object.values(set).filter((t) => !existing.has(t));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((topic) => ({
      topic,
      numPartitions: partitions,
      replicationFactor: 1,
      // The log is the record every derived state is rebuilt from: never expire it.
      configEntries: [{ name: 'retention.ms', value: '-1' }],
    })),
  });
  return missing;
}

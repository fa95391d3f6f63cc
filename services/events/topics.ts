/**
 * Cairn's Kafka topics, created by the project (brokers run with auto-creation off). Keys keep
 * one entity's events on one partition, hence in order.
 */
import type { Admin } from 'kafkajs';

export const topics = {
  interactions: 'cairn.interactions.v1',
  impressions: 'cairn.impressions.v1',
  catalog: 'cairn.catalog.v1',
  users: 'cairn.users.v1',
  deadLetter: 'cairn.deadletter.v1',
} as const;

export type TopicName = (typeof topics)[keyof typeof topics];

/** What each topic is keyed by, documented where producers look it up. */
export const topicKeys: Record<TopicName, string> = {
  [topics.interactions]: 'userId: a user’s session is replayed in order',
  [topics.impressions]: 'userId: joined with the same user’s interactions',
  [topics.catalog]: 'itemId: an item’s lifecycle is ordered',
  [topics.users]: 'userId',
  [topics.deadLetter]: 'source topic/partition: rejects stay in arrival order per source',
};

export const defaultPartitions = Number(process.env.CAIRN_TOPIC_PARTITIONS ?? 4);

/** Creates the missing topics; existing ones are left as they are. */
export async function ensureTopics(admin: Admin, partitions = defaultPartitions): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = Object.values(topics).filter((t) => !existing.has(t));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((topic) => ({
      topic,
      numPartitions: partitions,
      replicationFactor: 1,
      configEntries: [{ name: 'retention.ms', value: '-1' }],
    })),
  });
  return missing;
}

/**
 * The impressions and interactions of a namespace's topics, read from the beginning to where
 * each partition ends now: what the A/B and counterfactual analyses read. Messages that fail
 * their schema are counted, not fatal: the projector dead-letters them, the analysis skips them.
 */
import type { Kafka } from 'kafkajs';
import { type Impression, type Interaction, impressionSchema, interactionSchema } from '../../schemas/events';
import { readToEnd } from '../events/dead-letter-replay';

export interface LoggedEvents {
  impressions: Impression[];
  interactions: Interaction[];
  /** Impressions of the extra topic (the candidate's shadow slates), when one was named. */
  shadow: Impression[];
  invalid: number;
}

export async function readLoggedEvents(
  kafka: Kafka,
  topics: { impressions: string; interactions: string; shadow?: string },
  groupPrefix: string,
): Promise<LoggedEvents> {
  const events: LoggedEvents = { impressions: [], interactions: [], shadow: [], invalid: 0 };
  const admin = kafka.admin();
  await admin.connect();
  const existing = new Set(await admin.listTopics().finally(() => admin.disconnect()));
  const named = [topics.impressions, topics.interactions, topics.shadow].filter(
    (t): t is string => t !== undefined,
  );
  const missing = named.filter((t) => !existing.has(t));
  if (missing.length > 0) throw new Error(`no such topic: ${missing.join(', ')}`);
  await readToEnd(
    kafka,
    `${groupPrefix}cairn-evaluation`,
    named.map((topic) => ({ topic, from: 0n })),
    (message) => {
      let json: unknown;
      try {
        json = JSON.parse(message.value?.toString('utf8') ?? '');
      } catch {
        events.invalid++;
        return;
      }
      if (message.topic === topics.interactions) {
        const parsed = interactionSchema.safeParse(json);
        if (parsed.success) events.interactions.push(parsed.data);
        else events.invalid++;
        return;
      }
      const parsed = impressionSchema.safeParse(json);
      if (!parsed.success) events.invalid++;
      else if (message.topic === topics.shadow) events.shadow.push(parsed.data);
      else events.impressions.push(parsed.data);
    },
  );
  // Partitions interleave arbitrarily; within a user (one key, one partition) the log's order holds.
  const byTime = (a: Impression, b: Impression) => a.servedAt - b.servedAt;
  events.impressions.sort(byTime);
  events.shadow.sort(byTime);
  return events;
}

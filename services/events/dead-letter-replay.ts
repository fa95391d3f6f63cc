/**
 * Re-publishes chosen dead letters to the topics they came from, after the cause is fixed (the
 * missing item now exists, the consumer's rule was corrected): the original key and bytes, on the
 * original partition, so the projector sees them as it would have.
 *
 * Idempotent without any state of its own: each replayed message carries the header
 * `cairn.replay.of = <dead-letter topic>/<partition>/<offset>`. A replay lands on its letter's
 * source partition after the source offset, so before publishing, each source partition is read
 * from the oldest chosen letter's source offset to its end and the letters named by those headers
 * are skipped. The record of what was replayed is the event log itself, written in the same
 * produce as the replay: no crash can leave a replay without its mark. One replay at a time:
 * two running at once could both publish a letter.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { eventProducer } from './kafka';
import { type EventStream, eventStreams, streamOf, type TopicSet } from './topics';

export const replayHeader = 'cairn.replay.of';

export interface DeadLetterRecord {
  /** `<dead-letter topic>/<partition>/<offset>`: the letter's identity, what a replay's header names. */
  id: string;
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  reason: string;
  source: { topic: string; partition: number; offset: bigint; stream?: EventStream };
}

export interface ReplayChoice {
  /** Only letters whose reason contains this text. */
  reason?: string;
  /** Only letters at this offset or later of their dead-letter partition. */
  fromOffset: bigint;
  /** At most this many letters are replayed (after skipping those already replayed). */
  limit?: number;
  dryRun: boolean;
}

export interface ReplayOutcome {
  /** Letters chosen and not yet replayed: replayed now, or only listed on a dry run. */
  replayed: DeadLetterRecord[];
  alreadyReplayed: DeadLetterRecord[];
  /** Chosen letters whose source is not one of the namespace's event topics (not replayable). */
  foreign: DeadLetterRecord[];
  /** Chosen letters left for a later replay by --limit. */
  beyondLimit: number;
}

/** Replay batches stay well under the broker's request size. */
const sendBatch = 500;

export async function replayDeadLetters(
  kafka: Kafka,
  topics: TopicSet,
  choice: ReplayChoice,
  groupPrefix: string,
): Promise<ReplayOutcome> {
  const letters: DeadLetterRecord[] = [];
  const range = { topic: topics.deadLetter, from: choice.fromOffset };
  await readToEnd(kafka, `${groupPrefix}cairn-deadletter-replay`, [range], (message) => {
    const letter = deadLetterOf(topics, message);
    if (choice.reason !== undefined && !letter.reason.includes(choice.reason)) return;
    letters.push(letter);
  });
  // Entities before the events that refer to them; within a stream, in the order of the log.
  const rank = (l: DeadLetterRecord) =>
    l.source.stream === undefined ? -1 : eventStreams.indexOf(l.source.stream);
  letters.sort((a, b) => rank(a) - rank(b) || compare(a.source.offset, b.source.offset));

  const foreign = letters.filter((l) => l.source.stream === undefined);
  const replayable = letters.filter((l) => l.source.stream !== undefined);
  const replayedBefore = await replayedIds(kafka, replayable, `${groupPrefix}cairn-deadletter-replay`);
  const alreadyReplayed = replayable.filter((l) => replayedBefore.has(l.id));
  const pending = replayable.filter((l) => !replayedBefore.has(l.id));
  const chosen = choice.limit === undefined ? pending : pending.slice(0, choice.limit);
  if (!choice.dryRun && chosen.length > 0) await publish(kafka, chosen);
  return { replayed: chosen, alreadyReplayed, foreign, beyondLimit: pending.length - chosen.length };
}

function deadLetterOf(
  topics: TopicSet,
  message: KafkaMessage & { topic: string; partition: number },
): DeadLetterRecord {
  const header = (name: string) => message.headers?.[name]?.toString() ?? '';
  const topic = header('cairn.source.topic');
  const stream = streamOf(topics, topic);
  return {
    id: `${message.topic}/${message.partition}/${message.offset}`,
    offset: BigInt(message.offset),
    key: message.key,
    value: message.value,
    reason: header('cairn.reason'),
    source: {
      topic,
      partition: Number(header('cairn.source.partition')),
      offset: BigInt(header('cairn.source.offset') || '0'),
      stream: stream === 'deadLetter' || stream === 'emailSlates' ? undefined : stream,
    },
  };
}

/** Which of these letters already have a replay on their source partition. */
async function replayedIds(
  kafka: Kafka,
  letters: DeadLetterRecord[],
  groupPrefix: string,
): Promise<Set<string>> {
  const from = new Map<string, { topic: string; partition: number; from: bigint }>();
  for (const { source } of letters) {
    const where = `${source.topic}/${source.partition}`;
    const known = from.get(where);
    if (known === undefined || source.offset < known.from)
      from.set(where, { topic: source.topic, partition: source.partition, from: source.offset });
  }
  const ids = new Set<string>();
  if (from.size === 0) return ids;
  await readToEnd(kafka, groupPrefix, [...from.values()], (message) => {
    const of = message.headers?.[replayHeader]?.toString();
    if (of !== undefined) ids.add(of);
  });
  return ids;
}

async function publish(kafka: Kafka, letters: DeadLetterRecord[]): Promise<void> {
  const producer = eventProducer(kafka);
  await producer.connect();
  try {
    const at = new Date().toISOString();
    for (let i = 0; i < letters.length; i += sendBatch) {
      const batch = letters.slice(i, i + sendBatch);
      const byTopic = new Map<
        string,
        { key: Buffer | null; value: Buffer | null; partition: number; headers: IHeaders }[]
      >();
      for (const l of batch) {
        const messages = byTopic.get(l.source.topic) ?? [];
        messages.push({
          key: l.key,
          value: l.value,
          partition: l.source.partition,
          headers: { [replayHeader]: l.id, 'cairn.replay.at': at },
        });
        byTopic.set(l.source.topic, messages);
      }
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

export interface Range {
  topic: string;
  /** Every partition of the topic when omitted. */
  partition?: number;
  from?: bigint;
}

/** How long reading a few topics to their ends may take before the replay gives up. */
const readDeadlineMs = 120_000;

/**
 * Visits every message of the ranges, each partition up to the end it had when called. A
 * throw-away consumer group (kafkajs has no group-less consumer), deleted afterwards.
 */
export async function readToEnd(
  kafka: Kafka,
  groupPrefix: string,
  ranges: Range[],
  visit: (message: KafkaMessage & { topic: string; partition: number }) => void,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${groupPrefix}-${randomUUID().slice(0, 8)}`;
  try {
    const all = await positions(admin, ranges);
    const remaining = new Map(all.filter((p) => p.from < p.end).map((p) => [`${p.topic}/${p.partition}`, p]));
    if (remaining.size === 0) return;
    const reader = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
    await reader.connect();
    try {
      const done = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`reading ${[...remaining.keys()].join(', ')} took over ${readDeadlineMs / 1000} s`),
            ),
          readDeadlineMs,
        );
        const finish = () => {
          if (remaining.size > 0) return;
          clearTimeout(timer);
          resolve();
        };
        reader
          .subscribe({ topics: [...new Set(ranges.map((r) => r.topic))], fromBeginning: true })
          .then(() =>
            reader.run({
              autoCommit: false,
              eachMessage: async ({ topic, partition, message }) => {
                const where = `${topic}/${partition}`;
                const range = remaining.get(where);
                const offset = BigInt(message.offset);
                if (range === undefined || offset < range.from || offset >= range.end) return;
                visit({ ...message, topic, partition });
                if (offset + 1n >= range.end) remaining.delete(where);
                finish();
              },
            }),
          )
          .then(() => {
            for (const p of all)
              reader.seek({ topic: p.topic, partition: p.partition, offset: String(p.from) });
          }, reject);
      });
      await done;
    } finally {
      await reader.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
  } finally {
    await admin.disconnect();
  }
}

interface Position {
  topic: string;
  partition: number;
  from: bigint;
  end: bigint;
}

/**
 * Where each partition of the ranges' topics is read from and up to; the partitions no range
 * names start at their end, so a big topic's other partitions are not read for nothing.
 */
async function positions(admin: Admin, ranges: Range[]): Promise<Position[]> {
  const all: Position[] = [];
  for (const topic of new Set(ranges.map((r) => r.topic)))
    for (const p of await admin.fetchTopicOffsets(topic)) {
      const range = ranges.find(
        (r) => r.topic === topic && (r.partition === undefined || r.partition === p.partition),
      );
      const low = BigInt(p.low);
      const end = BigInt(p.high);
      const wanted =
        range === undefined ? end : range.from !== undefined && range.from > low ? range.from : low;
      all.push({ topic, partition: p.partition, from: wanted < end ? wanted : end, end });
    }
  return all;
}

const compare = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

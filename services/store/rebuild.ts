/**
 * Rebuilds the interaction store from offset 0 of the event log into a fresh directory, then
 * puts it in place of the current one; or projects the log as it stood at a past time into a
 * store of its own. The log is the record; the store is only a view of it.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Kafka } from 'kafkajs';
import { type LogPosition, logEnd, StoreProjector } from '../events/store-projector';
import { type EventStream, eventStreams, type TopicSet } from '../events/topics';
import { InteractionStore, type StoreCounts } from './interaction-store';
import { acquireStoreLock, StoreInUseError } from './store-lock';

export interface RebuildResult extends StoreCounts {
  checksum: string;
  previousChecksum?: string;
  /** Why the replaced store could not be read (another store format, damage), when it could not. */
  previousUnreadable?: string;
  rejected: number;
  seconds: number;
}

export async function rebuildStore(
  kafka: Kafka,
  topics: TopicSet,
  storeDir: string,
  groupPrefix: string,
): Promise<RebuildResult> {
  const started = Date.now();
  const previous = existsSync(storeDir) ? await lockPrevious(storeDir) : undefined;
  const scratch = `${storeDir}.rebuild-${randomUUID().slice(0, 8)}`;
  try {
    // The log's end when the rebuild starts: later events are the live projector's business.
    const { log: _, ...projected } = await projectLog({
      kafka,
      topics,
      dir: scratch,
      groupPrefix,
      end: logEnd,
    });
    await previous?.release();
    if (existsSync(storeDir)) await rm(storeDir, { recursive: true });
    await rename(scratch, storeDir);
    return {
      ...projected,
      previousChecksum: previous?.checksum,
      previousUnreadable: previous?.unreadable,
      seconds: (Date.now() - started) / 1000,
    };
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    await previous?.release();
    throw error;
  }
}

/** A store projected from a prefix of the log, and that prefix. */
export interface LogPrefixStore extends StoreCounts {
  checksum: string;
  rejected: number;
  /** Per topic-partition, the offset after the last message in the prefix. */
  log: LogPosition[];
}

/**
 * The log as it stood at `asOf`: per partition of every event topic, the messages before the
 * first one whose timestamp is at or after `asOf` (the producer's send time, Kafka's CreateTime),
 * projected into a new store in `dir` with the store projector, as `cairn store rebuild` does.
 * Events are validated as at `asOf`, so the future-timestamp rule judges them as it did then.
 */
export async function projectLogPrefix(
  kafka: Kafka,
  topics: TopicSet,
  dir: string,
  groupPrefix: string,
  asOf: Date,
): Promise<LogPrefixStore> {
  if (existsSync(dir)) throw new Error(`${dir} exists: a log prefix is projected into a new store`);
  return projectLog({
    kafka,
    topics,
    dir,
    groupPrefix,
    end: (admin, set, streams) => logEnd(admin, set, streams, asOf),
    now: () => asOf.getTime(),
  });
}

/**
 * Projects every event stream into a new store in `dir` up to the positions `end` gives, in a
 * consumer group of its own (deleted after), and closes the store.
 */
async function projectLog(options: {
  kafka: Kafka;
  topics: TopicSet;
  dir: string;
  groupPrefix: string;
  end: (admin: Admin, topics: TopicSet, streams: readonly EventStream[]) => Promise<LogPosition[]>;
  now?: () => number;
}): Promise<LogPrefixStore> {
  const { kafka, topics, dir } = options;
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${options.groupPrefix}-rebuild-${randomUUID().slice(0, 8)}`;
  const store = await InteractionStore.open(dir);
  let projector: StoreProjector | undefined;
  try {
    const end = await options.end(admin, topics, eventStreams);
    projector = new StoreProjector({
      kafka,
      store,
      topics,
      groupId,
      deadLetters: false,
      now: options.now,
      until: end,
    });
    await projector.start();
    await Promise.race([untilApplied(projector, end), projector.failed]);
    await projector.stop();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    const projected = {
      ...store.counts(),
      checksum: await store.checksum(),
      rejected: projector.progress.rejected,
      log: end,
    };
    await store.close();
    return projected;
  } catch (error) {
    await projector?.stop().catch(() => undefined);
    await store.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw error;
  } finally {
    await admin.disconnect();
  }
}

/** A rebuild that applies nothing for this long is stuck (a broker gone for good), not slow. */
const stallMs = 120_000;

async function untilApplied(projector: StoreProjector, end: LogPosition[]): Promise<void> {
  const handled = () =>
    projector.progress.applied + projector.progress.duplicates + projector.progress.rejected;
  let last = handled();
  let lastProgressAt = Date.now();
  while (!projector.hasApplied(end)) {
    await sleep(50);
    if (handled() !== last) {
      last = handled();
      lastProgressAt = Date.now();
    } else if (Date.now() - lastProgressAt > stallMs)
      throw new Error(
        `store rebuild stalled: no event applied for ${stallMs / 1000} s after ${last} events; is the broker up?`,
      );
  }
}

/**
 * Holds the store being replaced, so no projector writes to it during the rebuild. A store that
 * cannot be read (another store format, a damaged file) is what a rebuild is for: it is locked
 * and replaced all the same.
 */
async function lockPrevious(
  dir: string,
): Promise<{ checksum?: string; unreadable?: string; release(): Promise<void> }> {
  try {
    const store = await InteractionStore.open(dir);
    return { checksum: await store.checksum(), release: () => store.close() };
  } catch (error) {
    if (error instanceof StoreInUseError) throw error;
    const lock = await acquireStoreLock(dir);
    return { unreadable: (error as Error).message, release: () => lock.release() };
  }
}

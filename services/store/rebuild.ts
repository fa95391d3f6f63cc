/**
 * Rebuilds the interaction store from offset 0 of the event log into a fresh directory, then
 * puts it in place of the current one. The log is the record; the store is only a view of it.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import { type LogPosition, logEnd, StoreProjector } from '../events/store-projector';
import { eventStreams, type TopicSet } from '../events/topics';
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
  const admin = kafka.admin();
  await admin.connect();
  const scratch = `${storeDir}.rebuild-${randomUUID().slice(0, 8)}`;
  const groupId = `${groupPrefix}-rebuild-${randomUUID().slice(0, 8)}`;
  const store = await InteractionStore.open(scratch);
  const projector = new StoreProjector({ kafka, store, topics, groupId, deadLetters: false });
  try {
    // The log's end when the rebuild starts: later events are the live projector's business.
    const end = await logEnd(admin, topics, eventStreams);
    await projector.start();
    await Promise.race([untilApplied(projector, end), projector.failed]);
    await projector.stop();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    const checksum = await store.checksum();
    await store.close();
    await previous?.release();
    if (existsSync(storeDir)) await rm(storeDir, { recursive: true });
    await rename(scratch, storeDir);
    const seconds = (Date.now() - started) / 1000;
    return {
      ...store.counts(),
      checksum,
      previousChecksum: previous?.checksum,
      previousUnreadable: previous?.unreadable,
      rejected: projector.progress.rejected,
      seconds,
    };
  } catch (error) {
    await projector.stop().catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
    await previous?.release();
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

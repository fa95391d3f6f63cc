/**
 * Rebuilds the interaction store from offset 0 of the event log into a fresh directory, then
 * puts it in place of the current one. The log is the record; the store is only a view of it.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import { logEnd, StoreProjector } from '../events/store-projector';
import { eventStreams, type TopicSet } from '../events/topics';
import { InteractionStore, type StoreCounts } from './interaction-store';

export interface RebuildResult extends StoreCounts {
  checksum: string;
  previousChecksum?: string;
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
  const previous = existsSync(storeDir) ? await InteractionStore.open(storeDir) : undefined;
  const previousChecksum = await previous?.checksum();
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
    while (!projector.hasApplied(end)) await sleep(50);
    await projector.stop();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    const checksum = await store.checksum();
    await store.close();
    await previous?.close();
    if (existsSync(storeDir)) await rm(storeDir, { recursive: true });
    await rename(scratch, storeDir);
    const seconds = (Date.now() - started) / 1000;
    return { ...store.counts(), checksum, previousChecksum, rejected: projector.progress.rejected, seconds };
  } catch (error) {
    await projector.stop().catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
    await previous?.close();
    throw error;
  } finally {
    await admin.disconnect();
  }
}

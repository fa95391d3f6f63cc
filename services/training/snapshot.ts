/**
 * A training snapshot: a frozen copy of the interaction store as of its last checkpoint, named
 * by its content checksum. The live store keeps appending while the copy is taken; copying each
 * file only up to the checkpoint's length gives a consistent cut.
 */
import { existsSync } from 'node:fs';
import {
  copyFile,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  truncate,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { hasEntityTables, readEntityTables, writeEntityTables } from '../store/entity-tables';
import { InteractionStore, type StoreCounts } from '../store/interaction-store';
import { interactionRecordBytes } from '../store/records';
import { scanRecordFile } from '../store/store-files';
import type { TrainingSource } from '../store/training-set';

/** topic → partition → the offset after the last message the store holds (its checkpoint's). */
export type LogOffsets = Record<string, Record<string, string>>;

/** Where a snapshot came from: the log prefix it holds, and when that was the log. */
export interface SnapshotLineage {
  /** When the snapshot was taken; for one rebuilt from the log as of a time, that time. */
  takenAt: string;
  log: LogOffsets;
}

export interface Snapshot extends StoreCounts, SnapshotLineage {
  /** The store checksum: equal content, equal id. */
  id: string;
  dir: string;
}

const storeFiles = ['entities.jsonl', 'interactions.bin', 'impressions.bin'];

/** There is no store to snapshot: nothing was ever consumed into this directory. */
export class MissingStoreError extends Error {
  override name = 'MissingStoreError';
}

/**
 * A snapshot of the same content as an existing one is that one, with its lineage: the first
 * log prefix and time that held this content.
 */
export async function takeSnapshot(
  storeDir: string,
  snapshotsDir: string,
  takenAt = new Date(),
): Promise<Snapshot> {
  const checkpointFile = join(storeDir, 'checkpoint.json');
  if (!existsSync(checkpointFile))
    throw new MissingStoreError(`no interaction store in ${storeDir}: nothing was consumed into it yet`);
  const checkpoint = JSON.parse(await readFile(checkpointFile, 'utf8')) as Record<string, number>;
  const lengths: Record<string, number> = {
    'entities.jsonl': checkpoint.entitiesBytes,
    'interactions.bin': checkpoint.interactionsBytes,
    'impressions.bin': checkpoint.impressionsBytes,
  };
  const scratch = join(snapshotsDir, `.incoming-${process.pid}-${Date.now()}`);
  await mkdir(scratch, { recursive: true });
  for (const file of storeFiles) {
    const target = join(scratch, file);
    if (existsSync(join(storeDir, file))) {
      await copyFile(join(storeDir, file), target);
      await truncate(target, lengths[file]);
    } else await (await open(target, 'w')).close();
  }
  await writeFile(join(scratch, 'checkpoint.json'), JSON.stringify(checkpoint));
  await writeFile(join(scratch, lineageFile), JSON.stringify({ takenAt: takenAt.toISOString() }));
  // Read-only: a checksum and counts need no event-id fingerprints rebuilt from every record.
  const store = await InteractionStore.open(scratch, { readOnly: true });
  const id = (await store.checksum()).slice(0, 16);
  const counts = store.counts();
  // The one replay of the entity log a retrain pays: its training tasks read these tables.
  await writeEntityTables(scratch, store, checkpoint.entitiesBytes);
  await store.close();
  const dir = join(snapshotsDir, id);
  if (existsSync(dir)) {
    // A snapshot taken before snapshots had entity tables gets them now.
    if (!hasEntityTables(dir)) await writeEntityTables(dir, store, checkpoint.entitiesBytes);
    await rm(scratch, { recursive: true });
    // Taken again: as recent as a new one for pruning.
    const now = new Date();
    await utimes(dir, now, now);
  } else await rename(scratch, dir);
  return { id, dir, ...counts, ...(await snapshotLineage(dir)) };
}

const lineageFile = 'lineage.json';

/** A frozen snapshot opened for training; closing releases what it holds. */
export type SnapshotSource = TrainingSource & { close(): Promise<void> };

/**
 * A snapshot for training: its entity tables and its interaction records. A snapshot without
 * tables (taken before they existed) is opened as a read-only store, which replays its entity log.
 */
export async function openSnapshot(dir: string): Promise<SnapshotSource> {
  const checkpoint = JSON.parse(await readFile(join(dir, 'checkpoint.json'), 'utf8')) as Record<
    string,
    number
  >;
  const tables = await readEntityTables(dir, checkpoint.entitiesBytes);
  if (tables === undefined) return InteractionStore.open(dir, { readOnly: true });
  const bytes = checkpoint.interactionsBytes;
  return {
    ...tables,
    counts: () => ({ interactions: bytes / interactionRecordBytes }),
    scanInteractionRecords: (visit) =>
      scanRecordFile(join(dir, 'interactions.bin'), bytes, interactionRecordBytes, visit),
    close: async () => undefined,
  };
}

/** A snapshot taken before snapshots recorded their time has the time its files were written. */
export async function snapshotLineage(dir: string): Promise<SnapshotLineage> {
  const checkpoint = JSON.parse(await readFile(join(dir, 'checkpoint.json'), 'utf8')) as {
    offsets: LogOffsets;
  };
  const takenAt = existsSync(join(dir, lineageFile))
    ? (JSON.parse(await readFile(join(dir, lineageFile), 'utf8')) as { takenAt: string }).takenAt
    : (await stat(join(dir, 'checkpoint.json'))).mtime.toISOString();
  return { takenAt, log: checkpoint.offsets };
}

/**
 * Deletes the snapshots that no release references, except the `newest` most recently taken:
 * the retrains that run now train on those, and their releases do not exist yet. Returns the
 * ids it deleted.
 */
export async function pruneSnapshots(
  snapshotsDir: string,
  referenced: ReadonlySet<string>,
  newest: number,
): Promise<string[]> {
  const entries = await readdir(snapshotsDir, { withFileTypes: true });
  // Dot entries are snapshots still being copied.
  const snapshots = await Promise.all(
    entries
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
      .map(async (entry) => ({
        id: entry.name,
        takenMs: (await stat(join(snapshotsDir, entry.name))).mtimeMs,
      })),
  );
  snapshots.sort((a, b) => b.takenMs - a.takenMs);
  const deleted = snapshots
    .slice(newest)
    .map((snapshot) => snapshot.id)
    .filter((id) => !referenced.has(id));
  for (const id of deleted) await rm(join(snapshotsDir, id), { recursive: true, force: true });
  return deleted;
}

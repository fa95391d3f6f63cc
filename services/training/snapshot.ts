/**
 * A training snapshot: a frozen copy of the interaction store as of its last checkpoint, named
 * by its content checksum. The live store keeps appending while the copy is taken; copying each
 * file only up to the checkpoint's length gives a consistent cut.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InteractionStore, type StoreCounts } from '../store/interaction-store';

export interface Snapshot extends StoreCounts {
  /** The store checksum: equal content, equal id. */
  id: string;
  dir: string;
}

const storeFiles = ['entities.jsonl', 'interactions.bin', 'impressions.bin'];

export async function takeSnapshot(storeDir: string, snapshotsDir: string): Promise<Snapshot> {
  const checkpoint = JSON.parse(await readFile(join(storeDir, 'checkpoint.json'), 'utf8')) as Record<
    string,
    number
  >;
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
  const store = await InteractionStore.open(scratch);
  const id = (await store.checksum()).slice(0, 16);
  const counts = store.counts();
  await store.close();
  const dir = join(snapshotsDir, id);
  if (existsSync(dir)) await rm(scratch, { recursive: true });
  else await rename(scratch, dir);
  return { id, dir, ...counts };
}

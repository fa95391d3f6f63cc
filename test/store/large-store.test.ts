import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InteractionStore } from '../../services/store/interaction-store';
import { interactionRecordBytes, writeInteraction } from '../../services/store/records';
import { item, t0, user } from './store-events';

/**
 * Node reads no file over 2 GiB whole. The store is built on disk directly: a sparse file of
 * zeroed records (each an interaction of user 0 with item 0, all with one fingerprint), then one
 * real record past the 2 GiB mark, with the checkpoint set to cover them all.
 */
test('a store past 2 GiB opens, counts, scans and checksums every record', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-large-store-'));
  try {
    const store = await InteractionStore.open(dir);
    for (const e of [user('ann'), item('x', ['drama']), item('y', ['drama'])]) store.apply(e);
    await store.commit({});
    await store.close();

    const records = 2 ** 31 / interactionRecordBytes + 2;
    const lastAt = (records - 1) * interactionRecordBytes;
    const interactions = join(dir, 'interactions.bin');
    await truncate(interactions, lastAt);
    const writeLast = async (value: number) => {
      const record = Buffer.alloc(interactionRecordBytes);
      writeInteraction(new DataView(record.buffer), 0, {
        fpHi: 7,
        fpLo: 7,
        occurredAt: t0,
        user: 0,
        item: 1,
        value,
        type: 0,
        surface: 0,
      });
      const handle = await open(interactions, 'r+');
      await handle.write(record, 0, record.length, lastAt);
      await handle.close();
    };
    await writeLast(1);
    const checkpointPath = join(dir, 'checkpoint.json');
    const checkpoint = JSON.parse(await readFile(checkpointPath, 'utf8'));
    await writeFile(
      checkpointPath,
      JSON.stringify({ ...checkpoint, interactionsBytes: records * interactionRecordBytes }),
    );

    const large = await InteractionStore.open(dir);
    assert.equal(large.counts().interactions, records);
    assert.equal(large.interactionsPerItem.get(large.itemIndexOf('x') as number), records - 1);
    assert.equal(large.interactionsPerItem.get(large.itemIndexOf('y') as number), 1);
    let scanned = 0;
    let lastItem = -1;
    await large.scanInteractions((r) => {
      scanned++;
      lastItem = r.item;
    });
    assert.equal(scanned, records);
    assert.equal(lastItem, large.itemIndexOf('y'));
    const before = await large.checksum();
    await writeLast(2);
    assert.notEqual(await large.checksum(), before, 'the record past 2 GiB is part of the checksum');
    await large.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

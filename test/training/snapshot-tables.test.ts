/** A snapshot's entity tables, written once when it is taken, are what its store would replay. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CatalogEvent } from '../../schemas/events';
import { syntheticInteractions, syntheticItems, syntheticUsers } from '../../services/data/synthetic';
import { type EntityTables, hasEntityTables, writeEntityTables } from '../../services/store/entity-tables';
import { InteractionStore } from '../../services/store/interaction-store';
import { readColumnarTrainingSet } from '../../services/store/training-set';
import { openSnapshot, takeSnapshot } from '../../services/training/snapshot';

const tableFields = [
  'userIds',
  'itemIds',
  'categoryNames',
  'itemCategories',
  'itemContent',
  'userDemographics',
] as const satisfies readonly (keyof EntityTables)[];

async function storeWithEdits(dir: string): Promise<void> {
  const data = { seed: 4, itemCount: 60, userCount: 40, interactionCount: 1_500 };
  const store = await InteractionStore.open(dir);
  for (const event of syntheticUsers(data)) store.apply({ stream: 'users', event });
  store.apply({
    stream: 'users',
    event: { eventId: 'u-partial', type: 'user_created', userId: 'partial', occurredAt: 1, demographics: {} },
  });
  for (const event of syntheticItems(data)) store.apply({ stream: 'catalog', event });
  const edits: CatalogEvent[] = [
    {
      eventId: 'edit-0',
      occurredAt: 2,
      type: 'item_updated',
      itemId: 'si3',
      categories: ['drama', 'new category'],
      year: null,
      text: 'Ünïcode ✓',
    },
    { eventId: 'edit-1', occurredAt: 2, type: 'item_updated', itemId: 'si3', title: 'retitled' },
    { eventId: 'edit-2', occurredAt: 2, type: 'item_retired', itemId: 'si4' },
  ];
  for (const event of edits) assert.equal(store.apply({ stream: 'catalog', event }).kind, 'applied');
  for (const event of syntheticInteractions(data)) store.apply({ stream: 'interactions', event });
  await store.commit({});
  await store.close();
}

test('a snapshot opened from its entity tables reads the same tables and columns as its replayed store', async () => {
  const root = await mkdtemp(join(tmpdir(), 'cairn-snapshot-tables-'));
  try {
    const storeDir = join(root, 'store');
    await storeWithEdits(storeDir);
    const snapshot = await takeSnapshot(storeDir, join(root, 'snapshots'));
    assert.ok(hasEntityTables(snapshot.dir), 'written when the snapshot is taken');
    const replayed = await InteractionStore.open(snapshot.dir, { readOnly: true });
    const fromTables = await openSnapshot(snapshot.dir);
    assert.ok(!(fromTables instanceof InteractionStore), 'the tables were read, not the entity log');
    for (const field of tableFields) assert.deepEqual(fromTables[field], replayed[field], field);
    assert.equal(fromTables.itemContent[3].title, 'retitled');
    assert.deepEqual(fromTables.counts().interactions, replayed.counts().interactions);
    assert.deepEqual(await readColumnarTrainingSet(fromTables), await readColumnarTrainingSet(replayed));
    await replayed.close();
    await fromTables.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a snapshot without valid tables is replayed, and taking it again gives it tables', async () => {
  const root = await mkdtemp(join(tmpdir(), 'cairn-snapshot-tables-'));
  try {
    const storeDir = join(root, 'store');
    await storeWithEdits(storeDir);
    const snapshotsDir = join(root, 'snapshots');
    const snapshot = await takeSnapshot(storeDir, snapshotsDir);
    const expected = await readColumnarTrainingSet(await openSnapshot(snapshot.dir));
    await rm(join(snapshot.dir, 'entity-tables.v8'));
    const old = await openSnapshot(snapshot.dir);
    assert.ok(old instanceof InteractionStore, 'a snapshot from before tables is replayed');
    assert.deepEqual(await readColumnarTrainingSet(old), expected);
    await old.close();
    const again = await takeSnapshot(storeDir, snapshotsDir);
    assert.equal(again.id, snapshot.id);
    assert.ok(hasEntityTables(snapshot.dir), 'taken again: tables added');
    const reopened = await openSnapshot(snapshot.dir);
    assert.ok(!(reopened instanceof InteractionStore));
    assert.deepEqual(await readColumnarTrainingSet(reopened), expected);
    // Tables made from an entity log of another length are not trusted.
    const { entitiesBytes } = JSON.parse(await readFile(join(snapshot.dir, 'checkpoint.json'), 'utf8'));
    await writeEntityTables(snapshot.dir, reopened, entitiesBytes + 1);
    const mismatched = await openSnapshot(snapshot.dir);
    assert.ok(mismatched instanceof InteractionStore);
    await mismatched.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

import assert from 'node:assert/strict';
import { appendFile, mkdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { StreamEvent } from '../../services/events/validation';
import { InteractionStore, StoreFormatError } from '../../services/store/interaction-store';
import { click, events, item, removeTempStores, t0, tempStore, user } from './store-events';

after(removeTempStores);

test('applies events, counts them, and survives a reopen', async () => {
  const store = await tempStore();
  for (const e of events) assert.equal(store.apply(e).kind, 'applied');
  await store.commit({ 'cairn.interactions.v1': { '0': '3' } });
  const reopened = await InteractionStore.open(store.dir);
  assert.deepEqual(reopened.counts(), { interactions: 3, impressions: 2, items: 2, users: 2 });
  const y = reopened.itemIndexOf('y') as number;
  assert.equal(reopened.interactionsPerItem.get(y), 2);
  assert.equal(reopened.impressionsPerItem.get(y), 1);
  assert.equal(reopened.interactionsPerCategory.get(reopened.categoryNames.indexOf('drama')), 3);
  assert.equal(reopened.nextOffset('cairn.interactions.v1', 0), '3');
  assert.equal(await reopened.checksum(), await store.checksum());
});

test('a replayed event is a no-op (idempotent effects)', async () => {
  const store = await tempStore();
  for (const e of events) store.apply(e);
  for (const e of events) assert.equal(store.apply(e).kind, 'duplicate');
  await store.commit({});
  const reopened = await InteractionStore.open(store.dir);
  for (const e of events) assert.equal(reopened.apply(e).kind, 'duplicate', 'dedupe survives a restart');
});

test('references to unknown users or items are rejected with a reason', async () => {
  const store = await tempStore();
  store.apply(user('ann'));
  assert.deepEqual(store.apply(click('ann', 'nope', 1)), { kind: 'rejected', reason: 'unknown item nope' });
  assert.deepEqual(store.apply(click('zed', 'nope', 1)), { kind: 'rejected', reason: 'unknown user zed' });
  assert.equal(store.apply(user('ann')).kind, 'duplicate');
  const again: StreamEvent = {
    stream: 'users',
    event: { eventId: 'other', type: 'user_created', userId: 'ann', occurredAt: t0, demographics: {} },
  };
  assert.match(JSON.stringify(store.apply(again)), /already exists/);
});

test('a torn append after the last checkpoint is cut away on open', async () => {
  const store = await tempStore();
  for (const e of events) store.apply(e);
  await store.commit({});
  const size = (await stat(join(store.dir, 'interactions.bin'))).size;
  await appendFile(join(store.dir, 'interactions.bin'), Buffer.alloc(45, 7));
  await appendFile(join(store.dir, 'entities.jsonl'), '{"half a li');
  const reopened = await InteractionStore.open(store.dir);
  assert.equal((await stat(join(store.dir, 'interactions.bin'))).size, size);
  assert.deepEqual(reopened.counts(), store.counts());
});

test('the checksum depends on content, not on the order partitions were read in', async () => {
  const a = await tempStore();
  const b = await tempStore();
  for (const e of events) a.apply(e);
  const isEntity = (e: StreamEvent) => e.stream === 'users' || e.stream === 'catalog';
  const entities = events.filter(isEntity);
  const rest = events.filter((e) => !isEntity(e));
  for (const e of [...entities.reverse(), ...rest.reverse()]) b.apply(e);
  await a.commit({});
  await b.commit({});
  assert.equal(await a.checksum(), await b.checksum());
  const c = await tempStore();
  for (const e of events.slice(0, -2)) c.apply(e);
  await c.commit({});
  assert.notEqual(await c.checksum(), await a.checksum());
});

const dataFiles = ['entities.jsonl', 'interactions.bin', 'impressions.bin'];
const readStoreFiles = async (dir: string) =>
  Promise.all(dataFiles.map(async (f) => [f, await readFile(join(dir, f))] as const));

/**
 * Applies `events` in three batches with a commit after each; `beforeSecondCommit` may break the
 * store so that the second commit fails once, and `repair` undoes the damage before the retry.
 */
async function commitInBatches(
  store: InteractionStore,
  fault?: { beforeSecondCommit(dir: string): Promise<void>; repair(dir: string): Promise<void> },
) {
  const batches = [events.slice(0, 4), events.slice(4, 6), events.slice(6)];
  for (const [n, batch] of batches.entries()) {
    for (const e of batch) assert.equal(store.apply(e).kind, 'applied');
    if (n === 1 && fault !== undefined) {
      await fault.beforeSecondCommit(store.dir);
      await assert.rejects(store.commit({ t: { '0': String(n) } }), /EISDIR/);
      await fault.repair(store.dir);
    }
    await store.commit({ t: { '0': String(n) } });
  }
}

for (const [what, path] of [
  ['a data file', 'impressions.bin'],
  ['the checkpoint', 'checkpoint.json.tmp'],
] as const)
  test(`a commit that fails writing ${what} and is retried writes its bytes exactly once`, async () => {
    const clean = await tempStore();
    await commitInBatches(clean);
    const store = await tempStore();
    // A directory where the file should be makes its open fail (EISDIR) while the other
    // writes of the same commit go through, like a disk that fills in the middle of a commit.
    await commitInBatches(store, {
      beforeSecondCommit: async (dir) => {
        await rm(join(dir, path), { force: true });
        await mkdir(join(dir, path));
      },
      repair: (dir) => rm(join(dir, path), { recursive: true }),
    });
    assert.deepEqual(await readStoreFiles(store.dir), await readStoreFiles(clean.dir));
    assert.deepEqual(store.counts(), clean.counts());
    assert.equal(await store.checksum(), await clean.checksum());
    const reopened = await InteractionStore.open(store.dir);
    assert.deepEqual(reopened.counts(), clean.counts());
    assert.equal(await reopened.checksum(), await clean.checksum());
  });

test('bytes that a failed commit left behind the checkpoint are overwritten, not kept', async () => {
  const clean = await tempStore();
  const store = await tempStore();
  for (const s of [clean, store]) {
    for (const e of events.slice(0, 5)) s.apply(e);
    await s.commit({});
  }
  // What a commit that died after writing half a record leaves behind.
  await appendFile(join(store.dir, 'interactions.bin'), Buffer.alloc(16, 0xff));
  for (const s of [clean, store]) {
    for (const e of events.slice(5)) s.apply(e);
    await s.commit({});
  }
  assert.deepEqual(await readStoreFiles(store.dir), await readStoreFiles(clean.dir));
  assert.equal(await store.checksum(), await clean.checksum());
});

test('events applied while a commit runs are kept for the next commit', async () => {
  const clean = await tempStore();
  for (const e of events) clean.apply(e);
  await clean.commit({});
  const store = await tempStore();
  for (const e of events.slice(0, 5)) store.apply(e);
  const first = store.commit({});
  for (const e of events.slice(5)) store.apply(e);
  await first;
  await store.commit({});
  assert.deepEqual(await readStoreFiles(store.dir), await readStoreFiles(clean.dir));
  const reopened = await InteractionStore.open(store.dir);
  assert.deepEqual(reopened.counts(), clean.counts());
});

test('scans and the checksum read files in chunks, across record and line boundaries', async () => {
  const store = await tempStore();
  const many: StreamEvent[] = [...events];
  // Multi-byte characters, so that some chunk ends inside a character.
  for (const id of ['Amélie', '東京物語', 'Ça']) many.push(item(id, ['ドラマ'], `${id} ✓`));
  for (let n = 10; n < 40; n++) many.push(click(n % 2 ? 'ann' : 'bob', n % 3 ? 'x' : '東京物語', n));
  for (const e of many) assert.equal(store.apply(e).kind, 'applied');
  await store.commit({});
  await store.close();
  const whole = await InteractionStore.open(store.dir);
  const wholeScan: unknown[] = [];
  await whole.scanInteractions((r) => wholeScan.push(r));
  await whole.scanImpressions((r) => wholeScan.push(r));
  const expected = { counts: whole.counts(), checksum: await whole.checksum(), scan: wholeScan };
  await whole.close();
  // 70 bytes: two interaction records, two impression records, or part of an entity line.
  const chunked = await InteractionStore.open(store.dir, { chunkBytes: 70 });
  const chunkedScan: unknown[] = [];
  await chunked.scanInteractions((r) => chunkedScan.push(r));
  await chunked.scanImpressions((r) => chunkedScan.push(r));
  assert.deepEqual(
    { counts: chunked.counts(), checksum: await chunked.checksum(), scan: chunkedScan },
    expected,
  );
  assert.equal(expected.counts.interactions, 33);
  assert.equal(chunked.itemContent[chunked.itemIndexOf('東京物語') as number].title, '東京物語 ✓');
});

test('two event ids that collided under the format-1 fingerprint are both kept', async () => {
  // Found by a birthday search over two varying characters (2^27 candidates) against the FNV-based
  // format-1 fingerprint, reproduced here to show that the pair is a real collision of it.
  const ids = ['e:\u52ee\u8c75\u6000', 'e:\u58cb\u846f\u6a5f'];
  const formatOneFingerprint = (text: string) => {
    const avalanche = (h: number) => {
      let x = h ^ (h >>> 16);
      x = Math.imul(x, 0x85ebca6b);
      x ^= x >>> 13;
      x = Math.imul(x, 0xc2b2ae35);
      return (x ^ (x >>> 16)) >>> 0;
    };
    let a = 0x811c9dc5;
    let b = 0x01000193 ^ 0x5bd1e995;
    for (let i = 0; i < text.length; i++) {
      a = Math.imul(a ^ text.charCodeAt(i), 0x01000193);
      b = Math.imul(b ^ text.charCodeAt(i), 0x01000193) ^ (b >>> 13);
    }
    return [avalanche(a), avalanche(b ^ a)];
  };
  assert.deepEqual(formatOneFingerprint(ids[0]), formatOneFingerprint(ids[1]));
  const store = await tempStore();
  for (const e of events.slice(0, 4)) store.apply(e);
  for (const eventId of ids) {
    const e = click('ann', 'x', 1);
    assert.equal(
      store.apply({ ...e, event: { ...e.event, eventId } } as StreamEvent).kind,
      'applied',
      eventId,
    );
  }
  await store.commit({});
  const reopened = await InteractionStore.open(store.dir);
  assert.equal(reopened.counts().interactions, 2);
});

test('a store of format 1 is refused with the command that rebuilds it', async () => {
  const store = await tempStore();
  for (const e of events) store.apply(e);
  await store.commit({});
  await store.close();
  const checkpoint = JSON.parse(await readFile(join(store.dir, 'checkpoint.json'), 'utf8'));
  delete checkpoint.format;
  await writeFile(join(store.dir, 'checkpoint.json'), JSON.stringify(checkpoint));
  await assert.rejects(
    InteractionStore.open(store.dir),
    (error) =>
      error instanceof StoreFormatError &&
      /has format 1/.test(error.message) &&
      /cairn store rebuild/.test(error.message),
  );
});

test('a corrupt checkpoint or entity log is reported with its file and what is wrong', async () => {
  const store = await tempStore();
  for (const e of events) store.apply(e);
  await store.commit({});
  await store.close();
  const checkpointPath = join(store.dir, 'checkpoint.json');
  const good = await readFile(checkpointPath, 'utf8');
  const escaped = (path: string) => path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  await writeFile(checkpointPath, good.slice(0, 20));
  await assert.rejects(
    InteractionStore.open(store.dir),
    new RegExp(`corrupt checkpoint ${escaped(checkpointPath)}: not JSON`),
  );
  await writeFile(checkpointPath, JSON.stringify({ ...JSON.parse(good), interactionsBytes: 33 }));
  await assert.rejects(
    InteractionStore.open(store.dir),
    new RegExp(`corrupt checkpoint ${escaped(checkpointPath)}: interactionsBytes: .*multiple of 32`),
  );
  await writeFile(checkpointPath, good);

  const entitiesPath = join(store.dir, 'entities.jsonl');
  const entities = await readFile(entitiesPath, 'utf8');
  const lines = entities.split('\n');
  lines[1] = '#'.repeat(lines[1].length);
  await writeFile(entitiesPath, lines.join('\n'));
  await assert.rejects(
    InteractionStore.open(store.dir),
    new RegExp(`corrupt entity log ${escaped(entitiesPath)}, line 2: not JSON`),
  );
  await writeFile(entitiesPath, entities);

  const interactionsPath = join(store.dir, 'interactions.bin');
  await truncate(interactionsPath, 32);
  await assert.rejects(
    InteractionStore.open(store.dir),
    new RegExp(`${escaped(interactionsPath)} holds 32 bytes, fewer than the 96 .*cairn store rebuild`),
  );
});

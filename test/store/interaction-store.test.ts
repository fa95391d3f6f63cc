import assert from 'node:assert/strict';
import { appendFile, mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StreamEvent } from '../../services/events/validation';
import { InteractionStore } from '../../services/store/interaction-store';

const t0 = Date.UTC(2024, 0, 1);
const user = (id: string): StreamEvent => ({
  stream: 'users',
  event: { eventId: `u:${id}`, type: 'user_created', userId: id, occurredAt: t0, demographics: {} },
});
const item = (id: string, categories: string[]): StreamEvent => ({
  stream: 'catalog',
  event: {
    eventId: `i:${id}`,
    type: 'item_created',
    itemId: id,
    occurredAt: t0,
    title: id,
    categories,
    year: 2000,
    text: '',
    qualityFlags: [],
  },
});
const click = (u: string, i: string, n: number): StreamEvent => ({
  stream: 'interactions',
  event: {
    eventId: `c:${u}:${i}:${n}`,
    type: 'click',
    userId: u,
    itemId: i,
    occurredAt: t0 + n,
    surface: 'homepage',
  },
});

const events: StreamEvent[] = [
  user('ann'),
  user('bob'),
  item('x', ['drama']),
  item('y', ['drama', 'comedy']),
  click('ann', 'x', 1),
  click('ann', 'y', 2),
  click('bob', 'y', 3),
  {
    stream: 'impressions',
    event: {
      slateId: 's1',
      userId: 'bob',
      surface: 'homepage',
      servedAt: t0,
      variant: 'control',
      modelVersions: { ranker: 'v1' },
      items: [
        { itemId: 'x', position: 0, score: 0.9, propensity: 0.5 },
        { itemId: 'y', position: 1, score: 0.8, propensity: 0.5 },
      ],
    },
  },
];

const tempStore = async () => InteractionStore.open(await mkdtemp(join(tmpdir(), 'cairn-store-')));

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

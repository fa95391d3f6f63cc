import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyToSession,
  decodeSession,
  encodeSession,
  mergeRecent,
  SessionDecodeError,
  type SessionEvent,
  topCategories,
} from '../../services/realtime/session-state';

const limits = { recentKept: 3, ttlMs: 60_000 };
const now = 1_000_000;
const event = (itemId: string, offset: number, categories = ['A'], partition = 0): SessionEvent => ({
  itemId,
  occurredAt: now - 1_000,
  categories,
  partition,
  offset: String(offset),
});

test('interactions fold into recent items (newest first, distinct, bounded), category counts and last seen', () => {
  let state = applyToSession(undefined, event('x', 1, ['A', 'B']), limits, now);
  for (const [item, offset] of [
    ['y', 2],
    ['x', 3],
    ['z', 4],
    ['w', 5],
  ] as const)
    state = applyToSession(state, event(item, offset), limits, now) ?? state;
  assert.deepEqual(state?.recent, ['w', 'z', 'x']);
  assert.deepEqual(state?.categories, { A: 5, B: 1 });
  assert.equal(state?.lastSeenAt, now - 1_000);
  assert.deepEqual(topCategories(state, 1), ['A']);
});

test('a redelivered event and an event older than the session window change nothing', () => {
  const state = applyToSession(undefined, event('x', 7), limits, now);
  assert.equal(applyToSession(state, event('y', 7), limits, now), undefined);
  assert.equal(applyToSession(state, event('y', 6), limits, now), undefined);
  assert.ok(
    applyToSession(state, event('y', 1, ['A'], 1), limits, now),
    'another partition has its own offsets',
  );
  assert.equal(applyToSession(state, { ...event('y', 8), occurredAt: now - 60_001 }, limits, now), undefined);
});

test('the request’s recent items come first, then the logged session’s, distinct and bounded', () => {
  const state = applyToSession(
    applyToSession(undefined, event('a', 1), limits, now),
    event('b', 2),
    limits,
    now,
  );
  assert.deepEqual(mergeRecent(['c', 'a'], state, 10), ['c', 'a', 'b']);
  assert.deepEqual(mergeRecent(['c'], state, 2), ['c', 'b']);
  assert.deepEqual(mergeRecent([], undefined, 5), []);
});

test('a stored session round-trips; a corrupt one is a clear error naming its key', () => {
  const state = applyToSession(undefined, event('x', 1), limits, now);
  assert.ok(state);
  assert.deepEqual(decodeSession(encodeSession(state), 'k'), state);
  assert.throws(
    () => decodeSession('{', 'user=2e1'),
    (e: Error) => e instanceof SessionDecodeError && /user=2e1: not JSON/.test(e.message),
  );
  assert.throws(() => decodeSession('{"recent":[1]}', 'k'), /session k: recent\.0/);
});

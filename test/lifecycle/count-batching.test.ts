import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CountBatcher } from '../../services/lifecycle/count-batcher';
import { applyCounts, dueForWarmUp, newRecord } from '../../services/lifecycle/lifecycle-state';

const content = { title: 'x', categories: [], year: null, text: '' };
const limits = { warmAfterInteractions: 3, usersKept: 2 };

describe('count batching', () => {
  it('signals an item at most once per interval, with everything counted since', () => {
    const batcher = new CountBatcher(1_000);
    batcher.add('a', 'impressions', 0, 10);
    batcher.add('a', 'impressions', 0, 12);
    batcher.add('a', 'interactions', 1, 5, 'u1');
    const first = batcher.takeDue(0);
    assert.equal(first.length, 1);
    assert.deepEqual(first[0].batch, {
      contributions: [
        { stream: 'impressions', partition: 0, firstOffset: 10, lastOffset: 12, count: 2 },
        { stream: 'interactions', partition: 1, firstOffset: 5, lastOffset: 5, count: 1 },
      ],
      users: ['u1'],
    });
    batcher.add('a', 'impressions', 0, 13);
    batcher.add('b', 'impressions', 0, 14);
    assert.deepEqual(
      batcher.takeDue(500).map((d) => d.itemId),
      ['b'],
      'a was signalled 500 ms ago',
    );
    assert.deepEqual(
      batcher.takeDue(1_000).map((d) => d.itemId),
      ['a'],
    );
  });

  it('commits only below what is not signalled yet, and a requeued batch goes out again', () => {
    const batcher = new CountBatcher(1_000);
    batcher.add('a', 'impressions', 0, 10);
    batcher.observe('impressions', 0, 11);
    assert.equal(batcher.committable().get('impressions:0')?.offset, 10);
    const [due] = batcher.takeDue(0);
    assert.equal(batcher.committable().get('impressions:0')?.offset, 12);
    batcher.requeue(due);
    assert.equal(
      batcher.committable().get('impressions:0')?.offset,
      10,
      'a failed signal holds the commit back',
    );
    batcher.add('a', 'impressions', 0, 12);
    const [again] = batcher.takeDue(Number.POSITIVE_INFINITY);
    assert.deepEqual(again.batch.contributions, [
      { stream: 'impressions', partition: 0, firstOffset: 10, lastOffset: 12, count: 2 },
    ]);
  });
});

describe('lifecycle counters', () => {
  it('counts each contribution once, however often it is delivered', () => {
    const record = newRecord('a', content);
    const batch = {
      contributions: [
        { stream: 'interactions' as const, partition: 0, firstOffset: 0, lastOffset: 4, count: 2 },
      ],
      users: ['u1', 'u2', 'u3'],
    };
    assert.equal(applyCounts(record, batch, limits), 2);
    assert.equal(applyCounts(record, batch, limits), 0, 'a resent contribution is skipped');
    assert.equal(record.interactions, 2);
    assert.deepEqual(record.users, ['u1', 'u2'], 'users are kept up to the limit');
    assert.equal(dueForWarmUp(record, limits), false);
    applyCounts(
      record,
      {
        contributions: [{ stream: 'interactions', partition: 1, firstOffset: 0, lastOffset: 0, count: 1 }],
        users: [],
      },
      limits,
    );
    assert.equal(dueForWarmUp(record, limits), true);
    record.foldInFailedAt = 3;
    assert.equal(dueForWarmUp(record, limits), false, 'no retry of a failed fold-in until something is new');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CountBatcher } from '../../services/lifecycle/count-batcher';
import {
  applyCounts,
  dueForWarmUp,
  newRecord,
  startsExploring,
} from '../../services/lifecycle/lifecycle-state';

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
        { stream: 'impressions', partition: 0, offsets: [10, 12] },
        { stream: 'interactions', partition: 1, offsets: [5] },
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
    batcher.add('a', 'impressions', 0, 12);
    const [again] = batcher.takeDue(Number.POSITIVE_INFINITY);
    assert.deepEqual(
      again.batch.contributions,
      [{ stream: 'impressions', partition: 0, offsets: [10, 12] }],
      'an offset read twice is listed once',
    );
  });
});

describe('lifecycle counters', () => {
  it('counts each contribution once, however often it is delivered', () => {
    const record = newRecord('a', content);
    const batch = {
      contributions: [{ stream: 'interactions' as const, partition: 0, offsets: [0, 4] }],
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
        contributions: [{ stream: 'interactions', partition: 1, offsets: [0] }],
        users: [],
      },
      limits,
    );
    assert.equal(dueForWarmUp(record, limits), true);
    record.foldInFailedAt = 3;
    assert.equal(dueForWarmUp(record, limits), false, 'no retry of a failed fold-in until something is new');
  });

  it('counts only the new events of a batch that overlaps what was counted, after a crash of the counter', () => {
    const record = newRecord('a', content);
    const interactions = (offsets: number[]) => ({
      contributions: [{ stream: 'interactions' as const, partition: 0, offsets }],
      users: [],
    });
    assert.equal(applyCounts(record, interactions([3, 5, 8]), limits), 3);
    assert.equal(applyCounts(record, interactions([5, 8, 9, 12]), limits), 2, 'offsets 9 and 12 are new');
    assert.equal(applyCounts(record, interactions([3, 5, 8, 9, 12]), limits), 0);
    assert.equal(
      applyCounts(record, interactions([12, 12, 13]), limits),
      1,
      'an offset listed twice is one event',
    );
    assert.equal(record.interactions, 6);
    assert.deepEqual(record.watermarks, { 'interactions:0': 13 });
  });

  it('counts a range as it was counted when ranges were signalled, so recorded histories replay', () => {
    const record = newRecord('a', content);
    const range = (firstOffset: number, lastOffset: number, count: number) => ({
      contributions: [{ stream: 'impressions' as const, partition: 0, firstOffset, lastOffset, count }],
      users: [],
    });
    assert.equal(applyCounts(record, range(0, 4, 5), limits), 5);
    assert.equal(applyCounts(record, range(0, 4, 5), limits), 0);
    assert.equal(
      applyCounts(record, range(3, 6, 4), limits),
      4,
      'all or nothing: the reason offsets replaced ranges',
    );
  });

  it('waits for item_created when counts come first', () => {
    const record = newRecord('a', undefined);
    assert.equal(record.stage, 'uncreated');
    applyCounts(
      record,
      { contributions: [{ stream: 'impressions', partition: 0, offsets: [0] }], users: [] },
      limits,
    );
    assert.equal(record.impressions, 1);
    assert.equal(startsExploring(record), false, 'an item leaves cold only once it is placed');
  });
});

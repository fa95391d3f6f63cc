/** `cairn chaos --only consumer-commit` as a test: `cairn consume` killed between its two commits. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { consumerCommitDefaults, consumerCommitFault } from '../../bench/chaos/consumer-commit';

test('cairn consume SIGKILLed after the store checkpoint and before the group commit: no click lost or counted twice', async () => {
  const report = await consumerCommitFault({ ...consumerCommitDefaults, log: (line) => console.log(line) });
  console.log(JSON.stringify(report));
  assert.ok(report.events !== undefined);
  assert.ok(
    report.notes.some((n) => /store at \d+, group at \d+/.test(n)),
    'the store was ahead of the group commits when the consumer restarted',
  );
  assert.ok(report.events.acknowledged > 0);
  assert.equal(report.events.lost, 0);
  assert.equal(report.events.duplicated, 0);
  assert.equal(report.events.unexpected, 0);
});

/** `cairn chaos --only kafka-clicks` as a test: a private broker SIGKILLed under click traffic. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kafkaClicksDefaults, kafkaClicksFault } from '../../bench/chaos/kafka-clicks';

test('a broker SIGKILLed and restarted under click traffic: every acknowledged click in the store once, and produce recovers', async () => {
  const report = await kafkaClicksFault({ ...kafkaClicksDefaults, log: (line) => console.log(line) });
  console.log(JSON.stringify(report));
  assert.ok(report.events !== undefined);
  assert.ok(report.events.acknowledged > 0);
  assert.equal(report.events.lost, 0, 'no acknowledged click is missing from the store');
  assert.equal(report.events.duplicated, 0, 'no click is counted twice');
  assert.equal(report.events.unexpected, 0);
  assert.ok(report.after.sent > 0, 'clicks were produced after the broker came back');
  assert.equal(report.after.failed, 0, 'no click sent after recovery needed a retry');
});

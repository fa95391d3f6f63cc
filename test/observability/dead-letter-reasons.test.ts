import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deadLetterReasonClass } from '../../services/events/dead-letter-reasons';
import { maxEventBytes, validateMessage } from '../../services/events/validation';

const now = Date.parse('2026-11-30T00:00:00Z');
const click = {
  eventId: 'e1',
  type: 'click',
  userId: 'u1',
  itemId: 'i1',
  occurredAt: now,
  surface: 'homepage',
};
const reasonOf = (stream: Parameters<typeof validateMessage>[0], value: Buffer | null) => {
  const validation = validateMessage(stream, value, now);
  assert.equal(validation.ok, false);
  return validation.ok ? '' : validation.reason;
};
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

test("each reason the validator gives falls in its own bounded class, never 'other'", () => {
  const classes = [
    reasonOf('interactions', null),
    reasonOf('interactions', Buffer.alloc(maxEventBytes + 1, 0x20)),
    reasonOf('interactions', Buffer.from([0xff, 0xfe])),
    reasonOf('interactions', Buffer.from('{"eventId":')),
    reasonOf('interactions', json([1, 2])),
    reasonOf('interactions', json({ ...click, type: 'teleport' })),
    reasonOf('interactions', json({ ...click, occurredAt: now + 2 * 86_400_000 })),
    reasonOf(
      'impressions',
      json({
        slateId: 's1',
        userId: 'u1',
        surface: 'homepage',
        servedAt: now,
        variant: 'control',
        modelVersions: { retrieval: 'v1' },
        items: [
          { itemId: 'i1', position: 0, score: 1, propensity: 1 },
          { itemId: 'i2', position: 0, score: 1, propensity: 1 },
        ],
      }),
    ),
  ].map(deadLetterReasonClass);
  assert.deepEqual(classes, [
    'empty',
    'too_large',
    'invalid_utf8',
    'invalid_json',
    'not_an_object',
    'schema_violation',
    'future_timestamp',
    'repeated_position',
  ]);
});

test("the store's rejections are classed without their ids", () => {
  assert.equal(deadLetterReasonClass('unknown user u-123'), 'unknown_user');
  assert.equal(deadLetterReasonClass('unknown item i-9'), 'unknown_item');
  assert.equal(deadLetterReasonClass('user u-1 already exists'), 'already_exists');
  assert.equal(deadLetterReasonClass('item i-1 already exists (send item_updated)'), 'already_exists');
  assert.equal(deadLetterReasonClass('something new'), 'other');
});

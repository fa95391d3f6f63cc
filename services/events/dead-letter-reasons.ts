/**
 * A dead letter's reason is text for a person (it names the event's ids and the schema's
 * complaint); a metric label needs a small fixed set. The classes follow the reasons that
 * validation.ts and the interaction store give, in the order they are checked.
 */
const reasonClasses: readonly [string, RegExp][] = [
  ['empty', /^empty message/],
  ['too_large', /^event is \d+ bytes, the limit is/],
  ['invalid_utf8', /^value is not valid UTF-8/],
  ['invalid_json', /^invalid JSON:/],
  ['not_an_object', /^expected a JSON object/],
  ['schema_violation', /^schema violation:/],
  ['future_timestamp', /^timestamp .* in the future$/],
  ['repeated_position', /^impression repeats a position/],
  ['unknown_user', /^unknown user /],
  ['unknown_item', /^unknown item /],
  ['already_exists', /^(user|item) .* already exists/],
];

export function deadLetterReasonClass(reason: string): string {
  return reasonClasses.find(([, pattern]) => pattern.test(reason))?.[0] ?? 'other';
}

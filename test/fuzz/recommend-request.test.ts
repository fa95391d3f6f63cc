/**
 * NATS recommend requests through serving's parser (bytes → a valid request or a coded
 * refusal): whatever the body, the parser answers without throwing, a refusal carries a
 * contract code other than `internal` and a message, and nothing reaches a prototype.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { surfaces } from '../../schemas/events';
import { maxRequestBytes, recommendErrorCodes } from '../../schemas/recommend';
import { readSettings } from '../../services/config/environment';
import { natsConnection } from '../../services/config/nats-connection';
import { parseRequest } from '../../services/serving/request';
import {
  assertPlainPrototypes,
  assertPrototypesUntouched,
  fuzzParameters,
  hostileKey,
  jsonObjectText,
  junk,
  prototypeKeys,
  prototypeSnapshot,
} from './fuzz-settings';

const itemId = fc.oneof(fc.constantFrom('i1', ...prototypeKeys), fc.string({ maxLength: 130 }));
const request = fc.record(
  {
    userId: fc.oneof(fc.constantFrom('u1', ...prototypeKeys), fc.string({ maxLength: 130 })),
    surface: fc.constantFrom(...surfaces, 'tv'),
    k: fc.oneof(fc.integer({ min: -1, max: 102 }), fc.double()),
    recentItems: fc.array(itemId, { maxLength: 52 }),
    itemId,
    exclude: fc.array(itemId, { maxLength: 20 }),
    variant: fc.string({ maxLength: 66 }),
  },
  { requiredKeys: [] },
);

const body = fc.oneof(
  {
    arbitrary: fc
      .tuple(request, fc.array(fc.tuple(hostileKey, junk), { maxLength: 2 }), fc.nat(), junk)
      .map(([fields, extras, pick, value]) => {
        const entries: [string, unknown][] = Object.entries(fields);
        if (entries.length > 0 && pick % 3 === 0) entries[pick % entries.length][1] = value;
        return Buffer.from(jsonObjectText([...entries, ...extras]));
      }),
    weight: 10,
  },
  { arbitrary: junk.map((v) => Buffer.from(JSON.stringify(v) ?? '')), weight: 2 },
  { arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 64 }).map((s) => Buffer.from(s)), weight: 1 },
);

test('every request body gets a valid request or a coded refusal with a message', () => {
  const prototypes = prototypeSnapshot();
  const seen = { ok: 0, refused: new Set<string>() };
  fc.assert(
    fc.property(body, (bytes) => {
      const parsed = parseRequest(bytes);
      if (parsed.ok) {
        seen.ok++;
        assertPlainPrototypes(parsed.request);
        return;
      }
      assert.ok(recommendErrorCodes.includes(parsed.error.code));
      assert.notEqual(parsed.error.code, 'internal', parsed.error.message);
      assert.ok(parsed.error.message.length > 0);
      seen.refused.add(parsed.error.code);
    }),
    fuzzParameters(500),
  );
  assertPrototypesUntouched(prototypes);
  assert.ok(seen.ok > 0 && seen.refused.size > 5, `${seen.ok} valid, codes ${[...seen.refused]}`);
  console.log(`requests: ${seen.ok} valid, refusal codes seen: ${[...seen.refused].sort().join(', ')}`);
});

test('a 10 MB request body is refused by its size before it is decoded', () => {
  const huge = Buffer.from(JSON.stringify({ userId: 'u', exclude: ['x'.repeat(10 * 2 ** 20)] }));
  const started = process.hrtime.bigint();
  const parsed = parseRequest(huge);
  assert.ok(process.hrtime.bigint() - started < 50_000_000n, 'the refusal did not parse the body');
  assert.deepEqual(parsed, {
    ok: false,
    error: {
      code: 'body_too_large',
      message: `request body is ${huge.length} bytes, the limit is ${maxRequestBytes}`,
    },
  });
});

test('the NATS server refuses a 10 MB request before serving sees it', async () => {
  const nc = await natsConnection(readSettings());
  try {
    const limit = nc.info?.max_payload ?? 0;
    assert.ok(limit > maxRequestBytes && limit <= 8 * 2 ** 20, `max_payload ${limit}`);
    const huge = new Uint8Array(10 * 2 ** 20);
    const error = await nc.request('cairn.test.huge', huge, { timeout: 2_000 }).then(
      () => new Error('sent'),
      (e: Error) => e,
    );
    assert.match(error.message, /max_payload|payload/i);
  } finally {
    await nc.close();
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRequest } from '../../services/serving/request';
import { parseServingConfig, ServingConfigError } from '../../services/serving/serving-config';
import { assignVariant, variantsOf } from '../../services/serving/variants';
import { malformedRequests } from './malformed-requests';

test('every malformed request is refused with its code and a message naming the problem', () => {
  for (const [what, body, code] of malformedRequests) {
    const parsed = parseRequest(typeof body === 'string' ? new TextEncoder().encode(body) : body);
    assert.ok(!parsed.ok, what);
    assert.equal(parsed.error.code, code, `${what}: ${parsed.error.message}`);
    assert.ok(parsed.error.message.length > 0);
  }
  const fine = parseRequest(new TextEncoder().encode(JSON.stringify({ userId: 'u' })));
  assert.ok(fine.ok);
  assert.deepEqual(fine.request, {
    userId: 'u',
    surface: 'homepage',
    k: 10,
    recentItems: [],
    exclude: [],
    interests: [],
  });
});

test('variants: shares hold over many users, and a user’s variant never changes', () => {
  const config = parseServingConfig({
    variants: [
      { name: 'control', share: 0.7 },
      { name: 'treatment', share: 0.3, params: { explorationRate: 0.2 } },
    ],
  });
  const counts = new Map<string, number>();
  for (let u = 0; u < 20_000; u++) {
    const v = assignVariant(config, `user-${u}`);
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  assert.ok(Math.abs((counts.get('treatment') ?? 0) / 20_000 - 0.3) < 0.015, `${[...counts]}`);
  assert.equal(assignVariant(config, 'user-42'), assignVariant(config, 'user-42'));
  const resalted = parseServingConfig({ ...config, salt: 'another-experiment' });
  let moved = 0;
  for (let u = 0; u < 1000; u++)
    if (assignVariant(config, `u${u}`) !== assignVariant(resalted, `u${u}`)) moved++;
  assert.ok(moved > 200, 'a new salt reshuffles users');
  const variants = variantsOf(config);
  assert.equal(variants.get('treatment')?.params.explorationRate, 0.2);
  assert.equal(variants.get('treatment')?.params.categoryCap, config.pipeline.categoryCap);
});

test('a serving config whose shares do not sum to 1 is refused', () => {
  assert.throws(
    () => parseServingConfig({ variants: [{ name: 'a', share: 0.5 }] }),
    (error: unknown) => error instanceof ServingConfigError && /sum to 1/.test(error.message),
  );
});

/**
 * What every fuzz test shares: a fixed seed and a bounded number of runs for CI, raised with
 * CAIRN_FUZZ_RUNS (and reseeded with CAIRN_FUZZ_SEED) for a longer run; hostile keys; and a
 * check that no input polluted a built-in prototype.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';

const defaultRuns = 300;

export function fuzzParameters(runs = defaultRuns): fc.Parameters<unknown> {
  return {
    seed: Number(process.env.CAIRN_FUZZ_SEED ?? 20261130),
    numRuns: Number(process.env.CAIRN_FUZZ_RUNS ?? runs),
    endOnFailure: true,
    includeErrorInReport: true,
  };
}

/** Keys that reach a prototype when code copies them into a plain object. */
export const prototypeKeys = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];

export const hostileKey = fc.oneof(fc.constantFrom(...prototypeKeys), fc.string({ maxLength: 12 }));

/** Any JSON value, with hostile keys in its objects. */
export const junk: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -1, 1e308, -0, '', ' '),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.string({ maxLength: 40, unit: 'binary' }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.array(fc.tuple(hostileKey, tie('value')), { maxLength: 4 }).map(objectOf),
  ),
})).value;

/** An object with exactly these own keys, `__proto__` included, as JSON.parse would make it. */
export function objectOf(entries: [string, unknown][]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries)
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  return object;
}

/** JSON text of `entries` in order; repeated and `__proto__` keys are written as given. */
export function jsonObjectText(entries: [string, unknown][]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`;
}

const builtIns = [Object.prototype, Array.prototype, Function.prototype, String.prototype];

/** The built-in prototypes' own keys now, to compare after the fuzzing. */
export function prototypeSnapshot(): string[][] {
  return builtIns.map((p) => Reflect.ownKeys(p).map(String).sort());
}

export function assertPrototypesUntouched(before: string[][]): void {
  assert.deepEqual(prototypeSnapshot(), before, 'a built-in prototype gained or lost a key');
  const probe: Record<string, unknown> = {};
  for (const key of ['polluted', 'isAdmin', 'userId', 'itemId']) assert.equal(probe[key], undefined);
}

/** Every object inside a parsed value has a built-in prototype (no `__proto__` was assigned). */
export function assertPlainPrototypes(value: unknown, path = '(root)'): void {
  if (typeof value !== 'object' || value === null) return;
  const proto = Object.getPrototypeOf(value);
  assert.ok(
    proto === Object.prototype || proto === Array.prototype || proto === null,
    `${path} has a foreign prototype`,
  );
  for (const [key, inner] of Object.entries(value)) assertPlainPrototypes(inner, `${path}.${key}`);
}

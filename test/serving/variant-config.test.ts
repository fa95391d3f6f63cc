import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelRelease } from '../../services/registry/model-registry';
import { readPinnedReleases } from '../../services/serving/release-loader';
import { parseServingConfig, ServingConfigError } from '../../services/serving/serving-config';
import { variantOfRequest } from '../../services/serving/variants';
import { retrievalFamily } from '../../services/training/families';

const pinning = (models: unknown) =>
  parseServingConfig({
    variants: [
      { name: 'control', share: 0.5 },
      { name: 'challenger', share: 0.5, models },
    ],
  });

const refused = (models: unknown, pattern: RegExp) =>
  assert.throws(
    () => pinning(models),
    (error: unknown) => error instanceof ServingConfigError && pattern.test(error.message),
    JSON.stringify(models),
  );

test('a variant pins a release with models.release; the others follow the champion', () => {
  const config = parseServingConfig({
    variants: [
      { name: 'control', share: 0.4 },
      { name: 'challenger', share: 0.3, models: { release: 'v-1' } },
      { name: 'challenger-slow', share: 0.3, models: { release: 'v-1' }, params: { mmrLambda: 0.6 } },
    ],
  });
  assert.deepEqual(
    config.variants.map((v) => v.models?.release),
    [undefined, 'v-1', 'v-1'],
  );
  assert.equal(config.variants[2].params.mmrLambda, 0.6);
});

test('a malformed models field is refused at load, naming the variant’s field', () => {
  refused({}, /variants\.1\.models\.release/);
  refused({ release: '' }, /variants\.1\.models\.release/);
  refused({ release: 7 }, /variants\.1\.models\.release/);
  refused({ release: 'v-1', ranker: 'v-2' }, /ranker/);
  refused('v-1', /variants\.1\.models/);
});

test('a request is served by the variant it forces, else by its assignment', () => {
  const config = pinning({ release: 'v-1' });
  const assigned = variantOfRequest(config, { userId: 'user-7' });
  assert.ok(['control', 'challenger'].includes(assigned));
  assert.equal(variantOfRequest(config, { userId: 'user-7', variant: 'challenger' }), 'challenger');
  assert.equal(variantOfRequest(config, { userId: 'user-7', variant: 'control' }), 'control');
});

const release = (version: string, publishedAt: string): ModelRelease => ({
  family: retrievalFamily,
  version,
  contentHash: version,
  artifacts: [],
  publishedAt,
  metadata: {},
});

const registry = (...held: ModelRelease[]) => ({
  release: async (family: string, version: string) =>
    held.find((r) => r.family === family && r.version === version),
  releases: async (family: string) => held.filter((r) => r.family === family),
});

test('pinned releases are read from the registry once; an unknown version is a config error naming it', async () => {
  const old = release('v-old', '2026-01-01T00:00:00Z');
  const newer = release('v-new', '2026-02-01T00:00:00Z');
  const pinned = await readPinnedReleases(registry(old, newer), pinning({ release: 'v-old' }));
  assert.deepEqual([...pinned.keys()], ['v-old']);
  assert.equal(pinned.get('v-old'), old);
  assert.equal((await readPinnedReleases(registry(), parseServingConfig({}))).size, 0);
  await assert.rejects(
    readPinnedReleases(registry(old, newer), pinning({ release: 'v-gone' })),
    (error: unknown) =>
      error instanceof ServingConfigError &&
      error.message.includes("variant 'challenger' pins release 'v-gone'") &&
      error.message.includes('v-new, v-old'),
  );
});

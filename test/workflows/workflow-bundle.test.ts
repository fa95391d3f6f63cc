import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { workflowBundle } from '../../services/orchestration/workflow-bundle';

test('the workflows are bundled once per version of the code, then the bundle is reused', async () => {
  const cacheDir = await mkdtemp(join(tmpdir(), 'cairn-bundle-'));
  try {
    const first = await workflowBundle(cacheDir);
    const built = await stat(first.codePath);
    assert.ok(built.size > 100_000, `a whole bundle (${built.size} bytes)`);
    const again = await workflowBundle(cacheDir);
    assert.equal(again.codePath, first.codePath);
    assert.equal((await stat(again.codePath)).mtimeMs, built.mtimeMs, 'not rebuilt');
    assert.deepEqual(await readdir(join(cacheDir, 'workflow-bundles')), [first.codePath.split('/').at(-1)]);
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
});

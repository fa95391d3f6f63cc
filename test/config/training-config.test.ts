/** A bad training config file is reported with its path and what is wrong with it. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repositoryRoot } from '../../services/config/environment';
import { readTrainingConfigFile, TrainingConfigError } from '../../services/training/config';

async function withFile(name: string, content: string | undefined, body: (path: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-config-'));
  try {
    const path = join(dir, name);
    if (content !== undefined) await writeFile(path, content);
    await body(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const failure = (path: string, reason: RegExp) => (error: unknown) => {
  assert.ok(error instanceof TrainingConfigError, `a TrainingConfigError, not ${error}`);
  assert.ok(error.message.includes(path), `'${error.message}' names ${path}`);
  assert.match(error.message, reason);
  return true;
};

test('a training config file that is not JSON is reported with its path and the parse error', async () => {
  await withFile('broken.json', '{ "ials": { "factors": 16, } }', (path) =>
    assert.rejects(readTrainingConfigFile(path), failure(path, /not JSON: .*position/)),
  );
});

test('a training config file with invalid values is reported with its path and the field', async () => {
  await withFile('invalid.json', JSON.stringify({ ials: { factors: 1 }, gateTolerance: 2 }), (path) =>
    assert.rejects(readTrainingConfigFile(path), failure(path, /ials\.factors: .*gateTolerance: /)),
  );
  await withFile('extra.json', JSON.stringify({ ials: { rank: 8 } }), (path) =>
    assert.rejects(readTrainingConfigFile(path), failure(path, /ials: .*rank/)),
  );
});

test('a missing training config file is reported with its path', async () => {
  await withFile('missing.json', undefined, (path) =>
    assert.rejects(readTrainingConfigFile(path), failure(path, /cannot read .*ENOENT/)),
  );
});

test('cairn retrain --config with a bad file exits with one line naming the file and the reason', async () => {
  await withFile('broken.json', '{ "ials": ', async (path) => {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(
        join(repositoryRoot, 'bin/cairn'),
        ['retrain', '--config', path],
        { timeout: 60_000 },
        (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
      );
    });
    assert.equal(code, 1);
    assert.match(stderr.trim(), new RegExp(`^cairn: training config ${path} is not JSON: `));
    assert.equal(stderr.trim().split('\n').length, 1, 'no stack trace');
  });
});

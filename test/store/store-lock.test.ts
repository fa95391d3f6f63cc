import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { InteractionStore } from '../../services/store/interaction-store';
import { waitFor } from '../support/wait';

const child = join(__dirname, 'open-store-child.ts');

function openInChild(dir: string) {
  const process_ = spawn(process.execPath, ['--import', 'tsx', child, dir]) as ChildProcessWithoutNullStreams;
  const lines: string[] = [];
  createInterface({ input: process_.stdout }).on('line', (line) => lines.push(line));
  return { process: process_, lines };
}

test('of two processes opening a store at once, exactly one wins and the other is told who holds it', async () => {
  // Several rounds: one round of a racy lock may happen not to interleave.
  for (let round = 0; round < 4; round++) {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-store-lock-'));
    const children = [openInChild(dir), openInChild(dir)];
    try {
      await waitFor(() => children.every((c) => c.lines.includes('ready')), {
        what: 'both children to start',
        timeoutMs: 60_000,
        pollMs: 20,
      });
      for (const c of children) c.process.stdin.write('go\n');
      await waitFor(() => children.every((c) => c.lines.length >= 2), {
        what: 'both children to open or be refused',
        timeoutMs: 60_000,
        pollMs: 20,
      });
      const outcomes = children.map((c) => c.lines[1]);
      const winner = outcomes.indexOf('opened');
      assert.equal(
        outcomes.filter((o) => o === 'opened').length,
        1,
        `round ${round}: ${outcomes.join(' | ')}`,
      );
      assert.equal(
        outcomes[1 - winner],
        `refused: the store in ${dir} is in use by process ${children[winner].process.pid} (stop 'cairn consume' or the other command first)`,
      );
      assert.equal(await readFile(join(dir, 'lock'), 'utf8'), String(children[winner].process.pid));
    } finally {
      for (const c of children) {
        c.process.stdin.end();
        await waitFor(() => c.process.exitCode !== null || c.process.signalCode !== null, {
          what: `child ${c.process.pid} to exit`,
          timeoutMs: 30_000,
        });
      }
      await rm(dir, { recursive: true });
    }
  }
});

test('a lock left by a dead process is taken over', async () => {
  const dead = spawn(process.execPath, ['-e', '']);
  await waitFor(() => dead.exitCode !== null, { what: 'a short-lived process to exit', timeoutMs: 30_000 });
  const dir = await mkdtemp(join(tmpdir(), 'cairn-store-lock-'));
  await writeFile(join(dir, 'lock'), String(dead.pid));
  const store = await InteractionStore.open(dir);
  assert.equal(await readFile(join(dir, 'lock'), 'utf8'), String(process.pid));
  await store.close();
  await rm(dir, { recursive: true });
});

/**
 * Terminating a thread inside a native call aborts the whole process (node-addon-api's fatal
 * error), so a stopped task thread is terminated only once it is outside native code.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runInThread, runningThreads } from '../../services/concurrency/threads';
import type { NativeCallTask } from '../support/native-call-thread';
import { waitFor } from '../support/wait';

const threadModule = join(__dirname, '../support/native-call-thread');

function start(mode: NativeCallTask['mode']) {
  const progress = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
  const controller = new AbortController();
  const outcome = runInThread<void>(
    threadModule,
    { mode, progress } satisfies NativeCallTask,
    controller.signal,
  )
    .then(() => 'answered')
    .catch((error: unknown) => error);
  const working = () =>
    waitFor(() => Atomics.load(new Int32Array(progress), 0) > 0, {
      what: 'the thread to start its work',
      timeoutMs: 30_000,
    });
  return { progress: new Int32Array(progress), controller, outcome, working };
}

test('a thread stopped while it calls native code is terminated outside the call, and the process lives', async () => {
  for (let attempt = 0; attempt < 24; attempt++) {
    const thread = start('xgboost');
    await thread.working();
    // Stopping at varying moments lands inside the library most of the time.
    await sleep((attempt % 12) * 7);
    const reason = new Error(`stop ${attempt}`);
    thread.controller.abort(reason);
    assert.equal(await thread.outcome, reason);
    await waitFor(() => runningThreads() === 0, { what: 'the thread to be terminated', timeoutMs: 10_000 });
  }
});

test('stopping waits for a native call in flight, then terminates the thread and answers the caller', async () => {
  const thread = start('held');
  await thread.working();
  const reason = new Error('stop');
  thread.controller.abort(reason);
  let settled = false;
  void thread.outcome.then(() => {
    settled = true;
  });
  await sleep(300);
  assert.equal(runningThreads(), 1, 'still inside its native call');
  assert.equal(settled, false, 'the caller waits for the thread to end');
  Atomics.store(thread.progress, 1, 1);
  Atomics.notify(thread.progress, 1);
  assert.equal(await thread.outcome, reason);
  await waitFor(() => runningThreads() === 0, { what: 'the thread to be terminated', timeoutMs: 10_000 });
});

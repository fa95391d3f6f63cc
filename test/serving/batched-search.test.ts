import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SearchBatcher } from '../../services/serving/batched-search';

interface HeldBatch {
  requests: string[];
  abandoned: AbortSignal;
  answer(results: (string | Error)[]): void;
  fail(e: Error): void;
}

/** A sender whose batches the test answers by hand, recording what each carried. */
function heldSender() {
  const batches: HeldBatch[] = [];
  const send = (requests: string[], abandoned: AbortSignal) =>
    new Promise<(string | Error)[]>((resolve, reject) => {
      batches.push({ requests, abandoned, answer: resolve, fail: reject });
    });
  return { send, batches };
}

const never = () => new AbortController().signal;
const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ value }),
    (error: Error) => ({ error: error.message }),
  );
/** Lets the window's timer and the promise callbacks run. */
const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

test('searches arriving together go out as one batch, each caller getting its own answer', async () => {
  const { send, batches } = heldSender();
  const batcher = new SearchBatcher(send, 1);
  const answers = ['a', 'b', 'c'].map((q) => batcher.search(q, never()));
  await tick();
  assert.deepEqual(
    batches.map((b) => b.requests),
    [['a', 'b', 'c']],
  );
  batches[0].answer(['A', new Error('shard failed for b'), 'C']);
  assert.deepEqual(await Promise.all(answers.map(settle)), [
    { value: 'A' },
    { error: 'shard failed for b' },
    { value: 'C' },
  ]);
});

test('searches arriving while every slot is busy go together as soon as one frees', async () => {
  const { send, batches } = heldSender();
  const batcher = new SearchBatcher(send, 1, 64, 1);
  const first = batcher.search('a', never());
  await tick();
  const later = ['b', 'c', 'd'].map((q) => batcher.search(q, never()));
  await tick();
  assert.equal(batches.length, 1, 'nothing more is sent while a batch is in flight');
  batches[0].answer(['A']);
  assert.equal(await first, 'A');
  await tick(0);
  assert.deepEqual(
    batches.map((b) => b.requests),
    [['a'], ['b', 'c', 'd']],
  );
  batches[1].fail(new Error('connect ECONNREFUSED'));
  assert.deepEqual(await Promise.all(later.map(settle)), [
    { error: 'connect ECONNREFUSED' },
    { error: 'connect ECONNREFUSED' },
    { error: 'connect ECONNREFUSED' },
  ]);
});

test('an aborted search is rejected at once and, while it still waits, is not sent', async () => {
  const { send, batches } = heldSender();
  const batcher = new SearchBatcher(send, 1, 64, 1);
  const inFlight = new AbortController();
  const sent = settle(batcher.search('a', inFlight.signal));
  await tick();
  const waiting = new AbortController();
  const dropped = settle(batcher.search('b', waiting.signal));
  const kept = batcher.search('c', never());
  waiting.abort();
  inFlight.abort();
  assert.deepEqual(await dropped, { error: 'search aborted' });
  assert.deepEqual(await sent, { error: 'search aborted' }, 'the caller does not wait for the batch');
  batches[0].answer(['A']);
  await tick(0);
  assert.deepEqual(batches[1].requests, ['c']);
  batches[1].answer(['C']);
  assert.equal(await kept, 'C');
  const aborted = new AbortController();
  aborted.abort();
  assert.deepEqual(await settle(batcher.search('d', aborted.signal)), { error: 'search aborted' });
});

test('a full batch goes without waiting for the window, and a short answer fails only the unanswered', async () => {
  const { send, batches } = heldSender();
  const batcher = new SearchBatcher(send, 60_000, 2);
  const answers = ['a', 'b'].map((q) => settle(batcher.search(q, never())));
  await tick(0);
  assert.deepEqual(batches[0].requests, ['a', 'b'], 'sent at once, not after the 60 s window');
  batches[0].answer(['A']);
  assert.deepEqual(await Promise.all(answers), [
    { value: 'A' },
    { error: 'the batch answered fewer searches than it was sent' },
  ]);
});

test('a slow batch holds only its own searches: the next goes out in another slot', async () => {
  const { send, batches } = heldSender();
  const batcher = new SearchBatcher(send, 1, 64, 2);
  const slow = settle(batcher.search('a', never()));
  await tick();
  const quick = batcher.search('b', never());
  await tick();
  assert.deepEqual(
    batches.map((b) => b.requests),
    [['a'], ['b']],
  );
  batches[1].answer(['B']);
  assert.equal(await quick, 'B', 'answered while the first batch is still out');
  const queued = batcher.search('c', never());
  const alsoQueued = batcher.search('d', never());
  await tick();
  assert.deepEqual(batches[2].requests, ['c', 'd']);
  batches[0].fail(new Error('Request timed out'));
  assert.deepEqual(await slow, { error: 'Request timed out' });
  batches[2].answer(['C', 'D']);
  assert.deepEqual(await Promise.all([queued, alsoQueued]), ['C', 'D']);
});

test('a batch whose every caller gave up is cancelled and frees its slot at once', async () => {
  const { send, batches } = heldSender();
  const batcher = new SearchBatcher(send, 1, 64, 1);
  const callers = [new AbortController(), new AbortController()];
  const given = callers.map((c, i) => settle(batcher.search(`q${i}`, c.signal)));
  await tick();
  const behind = batcher.search('r', never());
  await tick();
  assert.equal(batches.length, 1, 'the one slot is taken');
  callers[0].abort();
  await tick(0);
  assert.equal(batches[0].abandoned.aborted, false, 'one caller still waits for the batch');
  callers[1].abort();
  assert.equal(batches[0].abandoned.aborted, true, 'nobody waits: the sender is told to cancel');
  assert.deepEqual(await Promise.all(given), [{ error: 'search aborted' }, { error: 'search aborted' }]);
  await tick(0);
  assert.deepEqual(batches[1]?.requests, ['r'], 'sent without waiting for the cancelled batch to return');
  batches[1].answer(['R']);
  assert.equal(await behind, 'R');
  batches[0].fail(new Error('Request aborted'));
  await tick(0);
  assert.equal(batches.length, 2, 'the late failure of the cancelled batch sends nothing twice');
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectionSignal, soakCollectVariable, soakNodeFlags } from '../../bench/soak-collect';
import {
  collectionAskedAfterSeconds,
  collectionWanted,
  flatMiBPerMinute,
  type MajorCollection,
  majorCollectionOf,
  verdictOf,
  type WindowMemory,
} from '../../bench/soak-memory';
import { tsxImport } from '../../services/config/cairn-process';
import { repositoryRoot } from '../../services/config/environment';

/** Windows every 10 s over `minutes`, the process's RSS floor given by `rss(t)` (t in minutes). */
const windows = (minutes: number, rss: (t: number) => number): WindowMemory[] =>
  Array.from({ length: minutes * 6 + 1 }, (_, w) => {
    const at = w * 10;
    return { at, rssMiB: { serve: rss(at / 60) }, peakMiB: { serve: rss(at / 60) + 30 } };
  });

/** A major collection every 20 s in the main isolate, leaving `heap(t)` MiB. */
const collections = (minutes: number, heap: (t: number) => number): MajorCollection[] =>
  Array.from({ length: minutes * 3 + 1 }, (_, c) => ({
    at: c * 20,
    isolate: '0x1',
    heapMiB: heap((c * 20) / 60),
  }));

test("V8's --trace-gc lines: a major collection gives its isolate and the heap it left, a scavenge nothing", () => {
  assert.deepEqual(
    majorCollectionOf(
      '[6840:0x1b953d90]    52123 ms: Mark-Compact 120.4 (131.2) -> 88.1 (128.0) MB, 45.10 / 0.00 ms  (average mu = 0.950, current mu = 0.941) allocation failure; scavenge might not succeed',
    ),
    { isolate: '0x1b953d90', heapMiB: 88.1 },
  );
  assert.deepEqual(
    majorCollectionOf(
      '[6840:0x1b953d90]    60000 ms: Mark-Compact (reduce) 90.0 (99.0) -> 85.5 (96.0) MB, 12.0 / 0.0 ms',
    ),
    { isolate: '0x1b953d90', heapMiB: 85.5 },
  );
  assert.equal(
    majorCollectionOf('[6840:0x1b953d90]      110 ms: Scavenge 3.9 (4.0) -> 3.5 (5.0) MB, 2.37 / 0.00 ms'),
    undefined,
  );
  assert.equal(majorCollectionOf('{"level":"error","msg":"Mark-Compact 1 (2) -> 3 (4) MB"}'), undefined);
});

test('two minutes of RSS settling upwards after a swap, the heap after collections flat: flat', () => {
  const v = verdictOf(
    'serve',
    windows(2, (t) => 400 + 15 * t),
    collections(2, () => 90),
    0,
  );
  assert.ok(v.slopeMiBPerMinute > 14);
  assert.equal(v.rssJudged, false, 'two minutes cannot tell settling RSS from a leak');
  assert.ok(Math.abs(v.heapSlopeMiBPerMinute) < 1e-9);
  assert.equal(v.flat, true);
});

test('a per-request leak of 2 KiB at 100 requests/s (12 MiB/min of heap) fails a two-minute run', () => {
  const v = verdictOf(
    'serve',
    windows(2, (t) => 400 + 12 * t),
    collections(2, (t) => 90 + 12 * t),
    0,
  );
  assert.ok(Math.abs(v.heapSlopeMiBPerMinute - 12) < 1e-9);
  assert.equal(v.flat, false);
});

test('on a long steady part RSS is judged too: a native leak the heap does not show fails', () => {
  const v = verdictOf(
    'serve',
    windows(10, (t) => 400 + 2 * t),
    collections(10, () => 90),
    0,
  );
  assert.equal(v.rssJudged, true);
  assert.equal(v.flat, false);
  const steady = verdictOf(
    'serve',
    windows(10, () => 400),
    collections(10, () => 90),
    0,
  );
  assert.equal(steady.flat, true);
});

test('memory before the steady part is not judged; a process with too few collections on a short run is not flat', () => {
  const grewThenFlat = verdictOf(
    'serve',
    windows(4, (t) => (t < 2 ? 300 + 50 * t : 400)),
    collections(4, (t) => (t < 2 ? 60 + 15 * t : 90)),
    120,
  );
  assert.ok(grewThenFlat.heapSlopeMiBPerMinute < flatMiBPerMinute);
  assert.equal(grewThenFlat.collections, 7);
  assert.equal(grewThenFlat.flat, true);
  const unjudged = verdictOf(
    'serve',
    windows(2, () => 400),
    collections(2, () => 90).slice(0, 2),
    0,
  );
  assert.ok(Number.isNaN(unjudged.heapSlopeMiBPerMinute));
  assert.equal(unjudged.flat, false, 'neither measure judged: no verdict of flat');
});

test("a thread's heap is judged on its own collections: a growing worker thread fails beside a flat main isolate", () => {
  const thread = collections(2, (t) => 20 + 5 * t).map((c) => ({ ...c, isolate: '0x2', at: c.at + 5 }));
  const v = verdictOf(
    'worker',
    windows(2, () => 300),
    [...collections(2, () => 90), ...thread],
    0,
  );
  assert.ok(Math.abs(v.heapSlopeMiBPerMinute - 5) < 1e-9);
  assert.equal(v.flat, false);
});

test("a real cairn serve child's heap after major collections: clean is flat, with an injected 2 KiB-per-request leak it grows", () => {
  // Measured at 08:01-08:05 (load 23): a replica of the published test release under 100
  // requests/s for 3 min, with and without a preload keeping 2 KiB per parsed request.
  const at = (points: [number, number][]): MajorCollection[] =>
    points.map(([s, heapMiB]) => ({ at: s, isolate: '0x1', heapMiB }));
  const rss = windows(3, () => 330);
  const clean = verdictOf(
    'serve',
    rss,
    at([
      [100, 87.5],
      [117, 87.0],
      [160, 88.6],
    ]),
    30,
  );
  assert.ok(clean.heapSlopeMiBPerMinute > flatMiBPerMinute, 'its slope alone is over the bound');
  assert.equal(clean.flat, true, 'within the heap noise');
  const leaking = verdictOf(
    'serve',
    rss,
    at([
      [88, 103.3],
      [105, 109.4],
      [128, 109.3],
      [155, 115.5],
    ]),
    30,
  );
  assert.equal(leaking.flat, false);
});

test('a process is asked for a full collection only in the steady part and only when it has had none for a while', () => {
  const steadyFrom = 100;
  const busy = collections(5, () => 90);
  assert.equal(collectionWanted([], steadyFrom, 90), false, 'before the steady part nothing is judged');
  assert.equal(collectionWanted([], steadyFrom, 105), true, 'idle: asked as soon as the steady part starts');
  assert.equal(
    collectionWanted([{ at: 95 }], steadyFrom, 105),
    true,
    'a collection before the steady part is no point in it',
  );
  assert.equal(collectionWanted([{ at: 106 }], steadyFrom, 115), false, 'just collected');
  assert.equal(collectionWanted([{ at: 106 }], steadyFrom, 106 + collectionAskedAfterSeconds + 1), true);
  for (let now = steadyFrom; now <= 300; now += 10)
    assert.equal(collectionWanted(busy, steadyFrom, now), false, `a busy process is left alone at ${now} s`);
});

/**
 * A node child idle but for what `body` does, started as the soak starts its children (with
 * `--trace-gc`, `--expose-gc` and soak-collect's variable), asked for a collection `asks` times
 * every 300 ms; its major collections as the soak reads them.
 */
async function askedChild(body: string, asks: number): Promise<MajorCollection[]> {
  const child = spawn(
    process.execPath,
    [
      ...soakNodeFlags,
      ...tsxImport,
      '--eval',
      `import(${JSON.stringify(join(repositoryRoot, 'bench/soak-collect.ts'))}).then((hook) => {
        hook.answerCollectionRequests(process.env);
        ${body};
        setInterval(() => {}, 1000);
        process.stdout.write('ready\\n');
      });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, [soakCollectVariable]: '1' } },
  );
  const started = performance.now();
  const found: MajorCollection[] = [];
  let ready = false;
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line === 'ready') ready = true;
    const c = majorCollectionOf(line);
    if (c !== undefined) found.push({ at: (performance.now() - started) / 1000, ...c });
  });
  try {
    const deadline = performance.now() + 30_000;
    while (!ready) {
      assert.ok(performance.now() < deadline, 'the child did not start within 30 s');
      await sleep(50);
    }
    const before = found.length;
    for (let n = 0; n < asks; n++) {
      await sleep(300);
      child.kill(collectionSignal);
    }
    await sleep(500);
    return found.slice(before);
  } finally {
    child.kill('SIGKILL');
  }
}

test('an idle process asked for full collections gets a heap verdict: flat when it keeps nothing, growing when it leaks while idle', async () => {
  const rss = windows(1, () => 60);
  const idle = verdictOf('worker', rss, await askedChild('', 4), 0);
  assert.equal(idle.collections, 4, 'one major collection per request, none of its own');
  assert.equal(idle.flat, true, `idle: heap slope ${idle.heapSlopeMiBPerMinute} MiB/min`);
  // 4 MiB of heap kept every 100 ms by a timer, with no request served: a leak in an idle process.
  const leaking = verdictOf(
    'worker',
    rss,
    await askedChild(
      'const kept = []; setInterval(() => kept.push(new Array(2 ** 20).fill(kept.length)), 100)',
      4,
    ),
    0,
  );
  assert.ok(leaking.collections >= 3);
  assert.equal(leaking.flat, false, `leaking: heap slope ${leaking.heapSlopeMiBPerMinute} MiB/min`);
});

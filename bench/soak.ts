/**
 * `cairn bench soak`: the processes a deployment runs (`cairn serve`, `cairn realtime`,
 * `cairn consume`, `cairn worker`), each its own child process, under steady open-loop serving
 * load with clicks produced to Kafka, and a retrain started half-way. Every 10 s it samples each
 * process's resident memory (its process tree's VmRSS) and the window's latency percentiles.
 *
 * Memory is judged on the steady part of the run: from `settleMs` after serving first answered
 * from the retrain's release (or after the retrain, when it made none), to the end. A retrain
 * legitimately grows the worker (training buffers, WebAssembly memory never shrinks) and a
 * release swap the replica; a leak is growth that goes on while the load stays the same, which
 * is what that part shows (bench/soak-memory.ts judges it). The run is extended past `minutes`
 * until the steady part is `steadyMs` long and every process's memory can be judged there.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kvm } from '@nats-io/kv';
import { servingIdentity } from '../cli/serve';
import type { RecommendResponse } from '../schemas/recommend';
import type { SoakResult, SoakWindow } from '../schemas/soak-result';
import { cairnEntry, exited, tsxImport } from '../services/config/cairn-process';
import { natsConnection } from '../services/config/nats-connection';
import { type ScratchSettings, scratchNamespace } from '../services/config/scratch-namespace';
import { eventProducer, kafkaClient } from '../services/events/kafka';
import { waitForProjection } from '../services/events/projection-progress';
import { explorationBucket } from '../services/lifecycle/lifecycle-names';
import { mulberry32 } from '../services/models/random';
import { retrainInput } from '../services/orchestration/schedules';
import { temporalClient } from '../services/orchestration/temporal';
import { sessionBucket } from '../services/realtime/realtime-config';
import { fingerprint } from '../services/store/fingerprint';
import { InteractionStore } from '../services/store/interaction-store';
import type { RetrainResult } from '../workflows/retrain';
import { promotedMovieLensNamespace } from './data/movielens-release';
import { untilAnswering } from './serve';
import { collectionSignal, soakCollectVariable, soakNodeFlags } from './soak-collect';
import {
  collectionWanted,
  flatMiBPerMinute,
  heapJudgeable,
  majorCollectionOf,
  memoryProbe,
  rssJudgedFromMinutes,
  verdictOf,
} from './soak-memory';

export interface SoakOptions {
  minutes: number;
  /** Recommend requests per second. */
  rate: number;
  clicksPerSecond: number;
  log: (line: string) => void;
}

const windowMs = 10_000;
const requestTimeoutMs = 2_000;
/**
 * After the first answer from the retrain's release, how long the old release's drain and the
 * collections that free it take: not judged.
 */
const settleMs = 30_000;
/** The shortest steady part the run ends with. */
const steadyMs = 120_000;
/** How long past `minutes` the run waits for the retrain to finish and be served. */
const retrainGraceMs = 20 * 60_000;
/** Failed or timed-out requests and click sends allowed, as a share of what was sent. */
export const errorShare = 0.005;

const deployment = [
  { name: 'serve', args: ['serve', '--replica', 'soak'] },
  { name: 'realtime', args: ['realtime'] },
  { name: 'consume', args: ['consume'] },
  { name: 'worker', args: ['worker'] },
] as const;

export interface Child {
  name: string;
  process: ChildProcess;
  /** Major collections as they were printed, on `performance.now()`'s clock. */
  collections: { atMs: number; isolate: string; heapMiB: number }[];
}

export async function benchSoak(options: SoakOptions): Promise<SoakResult> {
  const settings = await scratchNamespace('soak');
  // The children's own state directory: the worker prunes snapshots in it, so never the shared one.
  const stateDir = await mkdtemp(join(tmpdir(), 'cairn-soak-state-'));
  const nc = await natsConnection(settings);
  const client = await temporalClient(settings);
  const kafka = kafkaClient(settings, 'cairn-bench-soak');
  const producer = eventProducer(kafka);
  const children: Child[] = [];
  const abandon = new AbortController();
  // Ctrl-C ends the run early but through the same end: children stopped, namespace removed.
  let interrupted = false;
  const interrupt = () => {
    interrupted = true;
    options.log('interrupted: ending the run (a second signal kills it)');
  };
  process.once('SIGINT', interrupt).once('SIGTERM', interrupt);
  let passed = false;
  try {
    options.log(`setting up in ${settings.prefix}: MovieLens 100K, first retrain (in this process)`);
    const { users, items } = await promotedMovieLensNamespace(settings);
    for (const { name, args } of deployment) children.push(spawnDeployed(settings, stateDir, name, args));
    options.log(`started ${children.map((c) => `${c.name} (pid ${c.process.pid})`).join(', ')}`);
    await untilAnswering(nc, settings);
    await producer.connect();

    const random = mulberry32(12);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
    const request = (): string => {
      const r = random();
      if (r < 0.6) return JSON.stringify({ userId: pick(users), k: 10 });
      if (r < 0.9)
        return JSON.stringify({ userId: pick(users), k: 10, recentItems: [pick(items), pick(items)] });
      return JSON.stringify({ userId: `soak-new-${Math.floor(random() * 1e9)}`, k: 10 });
    };

    const started = performance.now();
    const since = () => (performance.now() - started) / 1000;
    let current = openWindow();
    const windows: SoakWindow[] = [];
    const versions = new Map<string, number>();
    let stopping = false;
    let requests = 0;
    let errors = 0;
    const errorCodes: Record<string, number> = {};
    let timeouts = 0;
    const inFlight = new Set<Promise<void>>();
    const track = (p: Promise<void>) => {
      inFlight.add(p);
      p.finally(() => inFlight.delete(p));
    };

    const retrain: SoakResult['retrain'] = { startedAt: Number.NaN, from: '' };
    /** Seconds since the load started from which memory is judged, once the retrain is served. */
    const steadyFrom = (): number | undefined => {
      const swapped = retrain.to === undefined ? retrain.finishedAt : retrain.pickedUpAt;
      return swapped === undefined ? undefined : swapped + settleMs / 1000;
    };
    const serveLoop = async () => {
      for (let n = 0; !stopping; n++) {
        const due = started + (n * 1000) / options.rate;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
        requests++;
        current.sent++;
        track(
          nc.request(settings.recommendSubject, request(), { timeout: requestTimeoutMs }).then(
            (reply) => {
              const answer = JSON.parse(reply.string()) as RecommendResponse;
              if (!answer.ok) {
                errors++;
                errorCodes[answer.error.code] = (errorCodes[answer.error.code] ?? 0) + 1;
                current.errors++;
                return;
              }
              // Measured from when the request was due: a late send is the system's delay too.
              current.latencies.push(performance.now() - due);
              current.answered++;
              versions.set(answer.modelVersion, (versions.get(answer.modelVersion) ?? 0) + 1);
              if (retrain.from === '') retrain.from = answer.modelVersion;
              if (retrain.to === answer.modelVersion && retrain.pickedUpAt === undefined)
                retrain.pickedUpAt = since();
            },
            (error: Error) => {
              if (/timeout/i.test(error.message)) {
                timeouts++;
                current.timeouts++;
              } else {
                errors++;
                current.errors++;
              }
            },
          ),
        );
      }
    };

    const produced: string[] = [];
    let clickSendErrors = 0;
    const clickLoop = async () => {
      for (let n = 0; !stopping; n++) {
        const due = started + (n * 1000) / options.clicksPerSecond;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
        const event = {
          eventId: `${settings.prefix}click-${n}`,
          type: 'click',
          userId: pick(users),
          itemId: pick(items),
          occurredAt: Date.now(),
          surface: 'homepage',
        };
        track(
          producer
            .send({
              topic: settings.topics.interactions,
              messages: [{ key: event.userId, value: JSON.stringify(event) }],
            })
            .then(
              () => {
                produced.push(event.eventId);
                current.clicks++;
              },
              () => {
                clickSendErrors++;
              },
            ),
        );
      }
    };

    const halfMs = (options.minutes * 60_000) / 2;
    const startRetrain = async () => {
      await sleep(halfMs, undefined, { signal: abandon.signal });
      retrain.startedAt = since();
      options.log(`${retrain.startedAt.toFixed(0)} s: retrain started (worker process)`);
      const handle = await client.workflow.start('retrain', {
        taskQueue: settings.pipelineTaskQueue,
        workflowId: `${settings.prefix}retrain-soak`,
        workflowExecutionTimeout: '30 minutes',
        args: [retrainInput(settings, {})],
      });
      try {
        const result: RetrainResult = await handle.result();
        retrain.finishedAt = since();
        retrain.promoted = result.decision.promote;
        retrain.reason = result.decision.reason;
        if (result.decision.promote) retrain.to = result.release.version;
        options.log(
          `${retrain.finishedAt.toFixed(0)} s: retrain done, ${result.release.version}: ${result.decision.reason}`,
        );
      } catch (error) {
        retrain.finishedAt = since();
        retrain.promoted = false;
        retrain.reason = `failed: ${(error as Error).message}`;
        options.log(`retrain ${retrain.reason}`);
      }
    };

    const sampler = async () => {
      const plannedMs = options.minutes * 60_000;
      for (;;) {
        // The next tick of the 10 s grid at least a second away: a late sample (a busy machine)
        // skips a tick instead of closing windows of a few seconds to catch up.
        const elapsed = performance.now() - started;
        await sleep(Math.ceil((elapsed + windowMs / 2) / windowMs) * windowMs - elapsed);
        const closed = current;
        current = openWindow();
        const { floor: rssMiB, peak: peakMiB } = await memory.take();
        const sorted = closed.latencies.sort((a, b) => a - b);
        const q = (p: number) =>
          sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
        const release = [...versions].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
        versions.clear();
        windows.push({
          at: since(),
          rssMiB,
          peakMiB,
          sent: closed.sent,
          answered: closed.answered,
          p50: q(0.5),
          p99: q(0.99),
          errors: closed.errors,
          timeouts: closed.timeouts,
          clicks: closed.clicks,
          load: loadavg()[0],
          release,
        });
        const w = windows[windows.length - 1];
        options.log(
          `${w.at.toFixed(0).padStart(5)} s  load ${w.load.toFixed(1)}  p99 ${w.p99.toFixed(0)} ms  ${Object.entries(
            rssMiB,
          )
            .map(([name, mib]) => `${name} ${mib.toFixed(0)}–${peakMiB[name].toFixed(0)}`)
            .join('  ')} MiB`,
        );
        const elapsedMs = performance.now() - started;
        const from = steadyFrom();
        const collectionsOf = (c: Child) =>
          c.collections.map(({ atMs, isolate }) => ({ at: (atMs - started) / 1000, isolate }));
        if (from !== undefined)
          for (const c of children)
            if (collectionWanted(collectionsOf(c), from, elapsedMs / 1000)) c.process.kill(collectionSignal);
        // Long enough, and every process's memory judgeable: its heap has had enough major
        // collections, or the steady part is long enough for RSS to be judged.
        const settled =
          from !== undefined &&
          elapsedMs - from * 1000 >= steadyMs &&
          (elapsedMs - from * 1000 >= rssJudgedFromMinutes * 60_000 ||
            children.every((c) => heapJudgeable(collectionsOf(c), from)));
        if (interrupted || (elapsedMs >= plannedMs && (settled || elapsedMs >= plannedMs + retrainGraceMs)))
          return;
      }
    };

    const memory = memoryProbe(children);
    const loops = Promise.all([serveLoop(), clickLoop(), memory.run(() => stopping)]);
    // A run that ends early (an error) must not start the retrain later.
    startRetrain().catch(() => undefined);
    await sampler();
    stopping = true;
    await loops;
    await Promise.all(inFlight);

    // A child that exited on its own before the end is a failed run whatever else it shows.
    const exitedEarly = children
      .filter((c) => c.process.exitCode !== null || c.process.signalCode !== null)
      .map((c) => `${c.name} (${c.process.exitCode ?? c.process.signalCode})`);
    options.log('load stopped; waiting for the store to hold every produced click');
    const admin = kafka.admin();
    await admin.connect();
    try {
      await waitForProjection(
        admin,
        settings.consumerGroups.store,
        settings.topics,
        ['interactions'],
        undefined,
        500,
        AbortSignal.timeout(120_000),
      );
    } catch (error) {
      options.log(`the store did not catch up within 120 s: ${(error as Error).message}`);
    } finally {
      await admin.disconnect();
    }
    await stopAll(children);
    const clicksMissing = await missingFromStore(settings.storeDir, produced);

    // Past the grace with the retrain unfinished: nothing is steady, and the verdict says so.
    const judgedFrom = steadyFrom() ?? since();
    const verdicts = children.map(({ name, collections }) =>
      verdictOf(
        name,
        windows,
        collections.map(({ atMs, ...c }) => ({ at: (atMs - started) / 1000, ...c })),
        judgedFrom,
      ),
    );
    const failures = errors + timeouts + clickSendErrors;
    const memoryFlat = verdicts.every((v) => v.flat);
    const errorsWithinBound = failures <= errorShare * (requests + produced.length + clickSendErrors);
    const result: SoakResult = {
      windows,
      steadyFrom: judgedFrom,
      verdicts,
      requests,
      errors,
      errorCodes,
      timeouts,
      clicksProduced: produced.length,
      clickSendErrors,
      clicksMissing,
      retrain,
      memoryFlat,
      errorsWithinBound,
      interrupted,
      exitedEarly,
      passed:
        !interrupted &&
        exitedEarly.length === 0 &&
        memoryFlat &&
        errorsWithinBound &&
        clicksMissing === 0 &&
        (retrain.to === undefined ? retrain.promoted === false : retrain.pickedUpAt !== undefined),
    };
    passed = result.passed;
    return result;
  } finally {
    process.off('SIGINT', interrupt).off('SIGTERM', interrupt);
    abandon.abort();
    await stopAll(children);
    await producer.disconnect().catch(() => undefined);
    await client.workflow
      .getHandle(servingIdentity(settings, 'soak').workflowId)
      .terminate('soak over')
      .catch(() => undefined);
    await client.workflow
      .getHandle(`${settings.prefix}retrain-soak`)
      .terminate('soak over')
      .catch(() => undefined);
    await client.connection.close();
    const kvm = new Kvm(nc);
    for (const bucket of [sessionBucket(settings), explorationBucket(settings)])
      await kvm
        .open(bucket)
        .then((kv) => kv.destroy())
        .catch(() => undefined);
    await nc.close();
    await settings.cleanup();
    // The children's logs go with their state directory: a failed run prints what they logged.
    if (!passed) for (const line of await loggedLines(stateDir, children)) options.log(line);
    await rm(stateDir, { recursive: true, force: true });
  }
}

function openWindow() {
  return { sent: 0, answered: 0, errors: 0, timeouts: 0, clicks: 0, latencies: [] as number[] };
}

/**
 * A `cairn` command as deployed (bin/cairn's node and loader), in the namespace, with `--trace-gc`
 * so its major collections are read off its stdout, and `--expose-gc` with soak-collect's variable so
 * an idle child can be asked for one; its other output is kept in the state directory.
 */
export function spawnDeployed(
  settings: ScratchSettings,
  stateDir: string,
  name: string,
  args: readonly string[],
): Child {
  const child = spawn(process.execPath, [...soakNodeFlags, ...tsxImport, cairnEntry, ...args], {
    env: {
      ...process.env,
      CAIRN_PREFIX: settings.prefix,
      CAIRN_STORE: settings.storeDir,
      CAIRN_STATE: stateDir,
      CAIRN_CACHE: settings.cacheDir,
      CAIRN_LOG_LEVEL: 'ERROR',
      [soakCollectVariable]: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collections: Child['collections'] = [];
  const log = createWriteStream(join(stateDir, `${name}.log`));
  createInterface({ input: child.stdout as Readable }).on('line', (line) => {
    const collection = majorCollectionOf(line);
    if (collection === undefined) log.write(`${line}\n`);
    else collections.push({ atMs: performance.now(), ...collection });
  });
  child.stderr?.pipe(process.stderr);
  return { name, process: child, collections };
}

const loggedLinesKept = 20;

/** The last lines each child logged itself: its log records are JSON, its GC trace is not. */
async function loggedLines(stateDir: string, children: readonly Child[]): Promise<string[]> {
  const lines: string[] = [];
  for (const { name } of children) {
    const text = await readFile(join(stateDir, `${name}.log`), 'utf8').catch(() => '');
    const logged = text.split('\n').filter((line) => line.startsWith('{'));
    lines.push(`${name} logged ${logged.length} lines${logged.length > 0 ? ', the last:' : ''}`);
    for (const line of logged.slice(-loggedLinesKept)) lines.push(`  ${line}`);
  }
  return lines;
}

async function stopAll(children: Child[]): Promise<void> {
  await Promise.all(
    children.map(async ({ process: child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      // A child that does not drain in time is killed: the soak must not hang on it.
      if ((await Promise.race([exited(child).then(() => true), sleep(30_000, false)])) === false) {
        child.kill('SIGKILL');
        await exited(child);
      }
    }),
  );
}

async function missingFromStore(storeDir: string, eventIds: readonly string[]): Promise<number> {
  const stored = new Set<string>();
  const store = await InteractionStore.open(storeDir);
  try {
    await store.scanInteractions((r) => stored.add(`${r.fpHi}:${r.fpLo}`));
  } finally {
    await store.close();
  }
  return eventIds.filter((id) => {
    const fp = fingerprint(id);
    return !stored.has(`${fp.hi}:${fp.lo}`);
  }).length;
}

export function formatSoak(r: SoakResult): string[] {
  const names = r.verdicts.map((v) => v.process);
  const lines = [
    `RSS per process (MiB, process tree; lowest–highest of the 1 s samples) and serving latency per ${windowMs / 1000} s window; * = steady part (memory judged on the lowest)`,
    `     s  ${names.map((n) => n.padStart(10)).join('')}   sent  p50 ms  p99 ms  err  t/o  clicks  load  release`,
  ];
  for (const w of r.windows)
    lines.push(
      `${w.at.toFixed(0).padStart(6)}${w.at >= r.steadyFrom ? '*' : ' '} ${names.map((n) => `${w.rssMiB[n].toFixed(0)}–${w.peakMiB[n].toFixed(0)}`.padStart(10)).join('')}${String(w.sent).padStart(7)}${w.p50.toFixed(1).padStart(8)}${w.p99.toFixed(1).padStart(8)}${String(w.errors).padStart(5)}${String(w.timeouts).padStart(5)}${String(w.clicks).padStart(8)}${w.load.toFixed(1).padStart(6)}  ${w.release}`,
    );
  const t = r.retrain;
  lines.push(
    '',
    `retrain: started ${t.startedAt.toFixed(0)} s, ${t.finishedAt === undefined ? 'not finished' : `finished ${t.finishedAt.toFixed(0)} s`}; ${t.reason ?? ''}`,
    `  serving ${t.from} → ${t.to === undefined ? '(no new release)' : `${t.to}, first answer from it at ${t.pickedUpAt === undefined ? 'never' : `${t.pickedUpAt.toFixed(0)} s`}`}`,
    `memory from ${r.steadyFrom.toFixed(0)} s: flat when the least-squares slope of each isolate's heap after major collections (at least 3) and, on a steady part of ${rssJudgedFromMinutes} min or more, of the windows' lowest RSS is < ${flatMiBPerMinute} MiB/min:`,
  );
  for (const v of r.verdicts)
    lines.push(
      `  ${v.process.padEnd(9)} RSS first lowest ${v.firstMiB.toFixed(1)}  peak ${v.peakMiB.toFixed(1)}  last lowest ${v.lastMiB.toFixed(1)} MiB  slope ${v.slopeMiBPerMinute.toFixed(2)} MiB/min${v.rssJudged ? '' : ' (not judged)'};  heap after GC ${v.heapLastMiB.toFixed(1)} MiB, ${v.collections} major GCs, slope ${Number.isNaN(v.heapSlopeMiBPerMinute) ? 'not judged' : `${v.heapSlopeMiBPerMinute.toFixed(2)} MiB/min`}  ${v.flat ? 'flat' : 'GROWING'}`,
    );
  lines.push(
    `requests ${r.requests}: ${r.errors} errors ${JSON.stringify(r.errorCodes)}, ${r.timeouts} time-outs (> ${requestTimeoutMs} ms); clicks produced ${r.clicksProduced}, send errors ${r.clickSendErrors}, missing from the store ${r.clicksMissing}`,
    `processes that exited during the run: ${r.exitedEarly.length === 0 ? 'none' : r.exitedEarly.join(', ')}`,
    `verdict: memory ${r.memoryFlat ? 'flat' : 'NOT flat'}, errors ${r.errorsWithinBound ? 'within' : 'ABOVE'} ${errorShare * 100}%, ${r.passed ? 'PASS' : 'FAIL'}`,
  );
  return lines;
}

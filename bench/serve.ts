/**
 * `cairn bench serve`: open-loop load over NATS against a `cairn serve` process answering from
 * a release trained on MovieLens 100K (or a synthetic catalog of a million items searched in
 * Elasticsearch), at fixed rates, with a realistic mix (60% known users, 30% known users with
 * recent items, 10% new users). The same load against a trivial responder on the same NATS
 * server is the floor: what NATS and the client cost on this machine. MovieLens runs in a
 * scratch namespace (its own store, topics, indexes, registry) and removes it; the synthetic
 * catalog's namespace is kept (bench/data/synthetic-release.ts). With `replicas` above 1, as many
 * `cairn serve` processes share the load through the queue group; the load starts once each one
 * listens. Beside the latencies, each rate reports the replicas' CPU per request (from /proc),
 * which a busy machine inflates far less than it inflates latency.
 */
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { untilReplicasListen } from '../cli/serve';
import type { RecommendResponse, StageTimings } from '../schemas/recommend';
import { exited, spawnCairn } from '../services/config/cairn-process';
import type { CairnSettings } from '../services/config/environment';
import { natsConnection } from '../services/config/nats-connection';
import { scratchNamespace } from '../services/config/scratch-namespace';
import { mulberry32 } from '../services/models/random';
import { promotedMovieLensNamespace } from './data/movielens-release';
import { syntheticServingCatalog } from './data/synthetic-release';

export interface ServeBenchOptions {
  rates: number[];
  seconds: number;
  /** `movielens`: ML-100K retrained in a scratch namespace; `synthetic`: `items` clustered items, kept between runs. */
  catalog: 'movielens' | 'synthetic';
  items: number;
  /** `cairn serve` processes sharing the load (default 1). */
  replicas?: number;
  log: (line: string) => void;
}

export interface LoadFigures {
  target: string;
  rate: number;
  sent: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  errors: number;
  /** Error replies by their code (`overloaded`, …); `transport` for requests that failed otherwise. */
  errorCodes: Record<string, number>;
  timeouts: number;
  degraded: number;
  /** Degraded replies by their first reason, numbers masked (`search over its # ms budget`, …). */
  degradedReasons: Record<string, number>;
  stages?: Record<keyof StageTimings, { mean: number; p99: number }>;
  /** The serving processes' CPU time (user + system) over the rate, per request sent. */
  cpuMsPerRequest?: number;
  replicas?: number;
}

const requestTimeoutMs = 2_000;
const warmUpSeconds = 10;

interface ServedCatalog {
  settings: CairnSettings;
  users: string[];
  items: string[];
  cleanup(): Promise<void>;
}

export async function benchServe(options: ServeBenchOptions): Promise<LoadFigures[]> {
  const catalog =
    options.catalog === 'synthetic'
      ? await syntheticServingCatalog(options.items, options.log)
      : await movieLensCatalog(options.log);
  const { settings, users, items } = catalog;
  const nc = await natsConnection(settings);
  const replicas = Array.from({ length: options.replicas ?? 1 }, (_, n) => `bench-${n + 1}`);
  const servers: ChildProcess[] = [];
  try {
    for (const replica of replicas) servers.push(spawnCairn(settings, ['serve', '--replica', replica]));
    // A 1M-item release takes minutes to download and lay out in memory.
    const startMs = options.catalog === 'synthetic' ? 900_000 : 120_000;
    await untilAnswering(nc, settings, startMs);
    await untilReplicasListen(settings, replicas, startMs);
    const floorSubject = `${settings.recommendSubject}.floor`;
    const floor = nc.subscribe(floorSubject, {
      callback: (_error, message) => {
        message.respond('{"ok":true,"items":[]}');
      },
    });
    const random = mulberry32(7);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
    const request = (): string => {
      const r = random();
      if (r < 0.6) return JSON.stringify({ userId: pick(users), k: 10 });
      if (r < 0.9)
        return JSON.stringify({
          userId: pick(users),
          k: 10,
          recentItems: [pick(items), pick(items), pick(items)],
        });
      return JSON.stringify({ userId: `new-${Math.floor(random() * 1e9)}`, k: 10 });
    };
    // A process that has just started compiles its hot paths and fills its per-user and per-item
    // tables during its first seconds; a serving replica lives for days, so those seconds are
    // not its latency. They are run and printed, not counted.
    const warmUp = await openLoop(
      nc,
      settings.recommendSubject,
      'cairn serve',
      options.rates[0],
      warmUpSeconds,
      request,
    );
    options.log(
      `warm-up (not counted): ${warmUp.sent} requests at ${options.rates[0]} rps, p50 ${warmUp.p50.toFixed(1)} ms, p99 ${warmUp.p99.toFixed(1)} ms, max ${warmUp.max.toFixed(1)} ms, ${warmUp.errors} errors`,
    );
    const figures: LoadFigures[] = [];
    for (const rate of options.rates) {
      figures.push(await openLoop(nc, floorSubject, 'floor', rate, options.seconds, request));
      const cpuBefore = await cpuMs(servers);
      const served = await openLoop(
        nc,
        settings.recommendSubject,
        'cairn serve',
        rate,
        options.seconds,
        request,
      );
      served.cpuMsPerRequest = ((await settledCpuMs(servers)) - cpuBefore) / served.sent;
      served.replicas = replicas.length;
      figures.push(served);
      options.log(`rate ${rate} rps done`);
    }
    floor.unsubscribe();
    return figures;
  } finally {
    for (const server of servers) server.kill('SIGTERM');
    await Promise.all(servers.map(exited));
    await nc.close();
    await catalog.cleanup();
  }
}

async function movieLensCatalog(log: (line: string) => void): Promise<ServedCatalog> {
  const settings = await scratchNamespace('bench');
  try {
    log('setting up: MovieLens 100K into a scratch store and the log, retrain (iALS, backfill, promote)');
    const { users, items } = await promotedMovieLensNamespace(settings);
    return { settings, users, items, cleanup: () => settings.cleanup() };
  } catch (error) {
    await settings.cleanup();
    throw error;
  }
}

export async function untilAnswering(
  nc: NatsConnection,
  settings: CairnSettings,
  withinMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      const reply = JSON.parse(
        (await nc.request(settings.recommendSubject, '{"userId":"1"}', { timeout: 1_000 })).string(),
      ) as RecommendResponse;
      if (reply.ok) return;
    } catch {
      // not subscribed yet
    }
    if (Date.now() > deadline) throw new Error(`cairn serve did not answer within ${withinMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** User + system CPU of the processes so far, in ms (/proc/PID/stat, clock ticks of 10 ms). */
async function cpuMs(processes: ChildProcess[]): Promise<number> {
  let ticks = 0;
  for (const { pid } of processes) {
    // The command name may hold spaces: the fields are counted from after its closing parenthesis.
    const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
    ticks += Number(stat[11]) + Number(stat[12]);
  }
  return ticks * 10;
}

/**
 * The processes' CPU once they are idle again: a saturated replica is still working through
 * requests whose callers gave up, and that work belongs to the rate too. Idle is under 4% of a
 * core over half a second; at most 60 s.
 */
async function settledCpuMs(processes: ChildProcess[]): Promise<number> {
  let last = await cpuMs(processes);
  for (let waited = 0; waited < 60_000; waited += 500) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = await cpuMs(processes);
    if (now - last <= 20 * processes.length) return now;
    last = now;
  }
  return last;
}

/** Sends at fixed times whatever the replies do (open loop), so a slow server cannot slow the load. */
async function openLoop(
  nc: NatsConnection,
  subject: string,
  target: string,
  rate: number,
  seconds: number,
  request: () => string,
): Promise<LoadFigures> {
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  // One preallocated column per stage: the load generator shares the server's cores, so
  // recording a reply must cost O(1), never a copy of what was recorded before.
  const stages = new Map<keyof StageTimings, Float64Array>();
  let timed = 0;
  let errors = 0;
  const errorCodes: Record<string, number> = {};
  const countError = (code: string) => {
    errors++;
    errorCodes[code] = (errorCodes[code] ?? 0) + 1;
  };
  let timeouts = 0;
  let degraded = 0;
  const degradedReasons: Record<string, number> = {};
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let n = 0; n < total; n++) {
    const due = start + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const body = request();
    pending.push(
      nc.request(subject, body, { timeout: requestTimeoutMs }).then(
        (reply) => {
          // Measured from when the request was due: a late send is the server's delay too.
          latencies.push(performance.now() - due);
          const answer = JSON.parse(reply.string()) as RecommendResponse;
          if (!answer.ok) countError(answer.error.code);
          else if (answer.timings !== undefined) {
            if (answer.degraded) {
              degraded++;
              const reason = (answer.degradedReasons[0] ?? '').replace(/\d+(\.\d+)?/g, '#');
              degradedReasons[reason] = (degradedReasons[reason] ?? 0) + 1;
            }
            for (const [stage, ms] of Object.entries(answer.timings) as [keyof StageTimings, number][]) {
              let column = stages.get(stage);
              if (column === undefined) {
                column = new Float64Array(total).fill(Number.NaN);
                stages.set(stage, column);
              }
              column[timed] = ms;
            }
            timed++;
          }
        },
        (error: Error) => {
          if (/timeout/i.test(error.message)) timeouts++;
          else countError('transport');
        },
      ),
    );
  }
  await Promise.all(pending);
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
  const sortedStage = (xs: Float64Array) => xs.subarray(0, timed).sort();
  return {
    target,
    rate,
    sent: total,
    p50: q(0.5),
    p95: q(0.95),
    p99: q(0.99),
    max: latencies.at(-1) ?? Number.NaN,
    errors,
    errorCodes,
    timeouts,
    degraded,
    degradedReasons,
    stages:
      stages.size === 0
        ? undefined
        : (Object.fromEntries(
            [...stages].map(([stage, xs]) => {
              const s = sortedStage(xs);
              return [
                stage,
                { mean: s.reduce((a, b) => a + b, 0) / s.length, p99: s[Math.floor(0.99 * (s.length - 1))] },
              ];
            }),
          ) as LoadFigures['stages']),
  };
}

export function formatServeBench(figures: LoadFigures[]): string[] {
  const lines = [
    'target        rate   sent    p50    p95    p99    max  errors  timeouts  degraded  p99/floor  CPU/req',
  ];
  const floorP99 = new Map(figures.filter((f) => f.target === 'floor').map((f) => [f.rate, f.p99]));
  const ms = (x: number) => x.toFixed(1).padStart(7);
  for (const f of figures) {
    const ratio = f.target === 'floor' ? '' : (f.p99 / (floorP99.get(f.rate) ?? Number.NaN)).toFixed(1);
    lines.push(
      `${f.target.padEnd(12)}${String(f.rate).padStart(6)}${String(f.sent).padStart(7)}${ms(f.p50)}${ms(f.p95)}${ms(f.p99)}${ms(f.max)}${String(f.errors).padStart(8)}${String(f.timeouts).padStart(10)}${String(f.degraded).padStart(10)}${ratio.padStart(11)}${f.cpuMsPerRequest === undefined ? '' : `${f.cpuMsPerRequest.toFixed(2).padStart(9)}`}`,
    );
  }
  const withErrors = figures.filter((f) => f.errors > 0);
  if (withErrors.length > 0) lines.push('', 'errors by code:');
  for (const f of withErrors)
    lines.push(
      `  ${f.target.padEnd(12)}${String(f.rate).padStart(6)} rps  ${Object.entries(f.errorCodes)
        .map(([code, n]) => `${code} ${n}`)
        .join('   ')}`,
    );
  const withDegraded = figures.filter((f) => f.degraded > 0);
  if (withDegraded.length > 0) lines.push('', 'degraded by first reason:');
  for (const f of withDegraded)
    for (const [reason, n] of Object.entries(f.degradedReasons).sort((a, b) => b[1] - a[1]))
      lines.push(`  ${String(f.rate).padStart(4)} rps  ${String(n).padStart(6)}  ${reason}`);
  const replicas = figures.find((f) => f.replicas !== undefined)?.replicas ?? 1;
  lines.push(
    '',
    `CPU/req: the ${replicas} 'cairn serve' process${replicas === 1 ? '' : 'es'}' user + system CPU per request sent, in ms`,
    '',
    'per stage in cairn serve (ms, mean / p99):',
  );
  for (const f of figures) {
    if (f.stages === undefined) continue;
    lines.push(
      `  ${String(f.rate).padStart(4)} rps  ${Object.entries(f.stages)
        .map(([stage, v]) => `${stage} ${v.mean.toFixed(2)} / ${v.p99.toFixed(2)}`)
        .join('   ')}`,
    );
  }
  return lines;
}

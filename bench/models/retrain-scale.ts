/**
 * `cairn bench retrain`: the daily retrain at scale, on a synthetic store. The store is written
 * directly from the generator (the store's own `apply` and `commit`, no Kafka: pushing 10M events
 * through the log would measure ingestion, which `cairn bench ingest` does) and kept in the cache
 * for the next run. The retrain is the real one, every family, the gate, the registry and the
 * backfill into Elasticsearch, run by one `cairn worker` child process in a scratch namespace.
 * Prints wall time, the worker's peak RSS (VmHWM of its /proc status: every thread of the process)
 * and the time of each workflow phase and of each training step the worker logged.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { cairnEntry, tsxImport } from '../../services/config/cairn-process';
import type { CairnSettings } from '../../services/config/environment';
import { scratchNamespace } from '../../services/config/scratch-namespace';
import {
  type SyntheticConfigInput,
  syntheticInteractions,
  syntheticItems,
  syntheticUsers,
} from '../../services/data/synthetic';
import { retrainInput } from '../../services/orchestration/schedules';
import { namespaceOf, temporalClient } from '../../services/orchestration/temporal';
import { InteractionStore } from '../../services/store/interaction-store';
import { type RetrainPhase, type RetrainResult, retrainPhase } from '../../workflows/retrain';

export interface RetrainScaleOptions {
  events: number;
  items: number;
  users: number;
  cacheDir: string;
  log: (line: string) => void;
}

export interface RetrainScaleResult {
  storeSeconds: number;
  storeReused: boolean;
  wallSeconds: number;
  peakRssMiB: number;
  phases: { phase: RetrainPhase; seconds: number; cpuSeconds: number }[];
  cpuSeconds: number;
  steps: { task: string; step: string; seconds: number }[];
  loadAverage: { start: number; end: number; max: number };
  result?: RetrainResult;
  failure?: string;
}

const storeCommitEvery = 1_000_000;

/** The synthetic store for these sizes, built once into the cache. */
export async function syntheticStore(
  data: SyntheticConfigInput,
  cacheDir: string,
  log: (line: string) => void,
) {
  const dir = join(
    cacheDir,
    'bench',
    `retrain-store-${data.interactionCount}-${data.itemCount}-${data.userCount}-seed${data.seed}`,
  );
  if (existsSync(join(dir, 'checkpoint.json'))) return { dir, seconds: 0, reused: true };
  const started = performance.now();
  const building = `${dir}.building`;
  await rm(building, { recursive: true, force: true });
  await mkdir(building, { recursive: true });
  const store = await InteractionStore.open(building);
  for (const event of syntheticUsers(data)) store.apply({ stream: 'users', event });
  for (const event of syntheticItems(data)) store.apply({ stream: 'catalog', event });
  await store.commit({});
  let applied = 0;
  for (const event of syntheticInteractions(data)) {
    const outcome = store.apply({ stream: 'interactions', event });
    if (outcome.kind !== 'applied')
      throw new Error(`synthetic event ${event.eventId}: ${JSON.stringify(outcome)}`);
    if (++applied % storeCommitEvery === 0) {
      await store.commit({});
      log(`store: ${applied} interactions, ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
  }
  await store.commit({});
  await store.close();
  await rename(building, dir);
  return { dir, seconds: (performance.now() - started) / 1000, reused: false };
}

/**
 * A process's resident-set high-water mark and the CPU time it has used, every thread included.
 * CPU time says what a phase costs when the machine is shared and wall time says little.
 */
async function sampleWorker(pid: number): Promise<{ peakMiB: number; cpuSeconds: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kib = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  // Fields 14 and 15 of /proc/<pid>/stat, after the parenthesised name: user and system ticks.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return {
    peakMiB: kib === undefined ? 0 : Number(kib) / 1024,
    cpuSeconds: Number.isFinite(ticks) ? ticks / clockTicksPerSecond : 0,
  };
}

/** USER_HZ, 100 on Linux. */
const clockTicksPerSecond = 100;

async function workflowPollers(client: Client, settings: CairnSettings): Promise<number> {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: namespaceOf(settings),
    taskQueue: { name: settings.pipelineTaskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return pollers?.length ?? 0;
}

export async function benchRetrainScale({
  events,
  items,
  users,
  cacheDir,
  log,
}: RetrainScaleOptions): Promise<RetrainScaleResult> {
  const data = { seed: 42, interactionCount: events, itemCount: items, userCount: users };
  const store = await syntheticStore(data, cacheDir, log);
  log(`store ${store.dir} ${store.reused ? 'reused' : `built in ${store.seconds.toFixed(0)} s`}`);
  const settings = await scratchNamespace('rscale');
  const stateDir = await mkdtemp(join(tmpdir(), 'cairn-retrain-scale-'));
  const worker = spawn(process.execPath, [...tsxImport, cairnEntry, 'worker'], {
    env: {
      ...process.env,
      CAIRN_PREFIX: settings.prefix,
      CAIRN_STORE: store.dir,
      CAIRN_STATE: stateDir,
      CAIRN_CACHE: settings.cacheDir,
      CAIRN_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  const steps: RetrainScaleResult['steps'] = [];
  createInterface({ input: worker.stderr as Readable }).on('line', (line) => {
    let entry: { msg?: string; task?: string; step?: string; seconds?: number; level?: string };
    try {
      entry = JSON.parse(line);
    } catch {
      log(`worker: ${line}`);
      return;
    }
    if (entry.msg === 'training step' && entry.task !== undefined && entry.step !== undefined) {
      steps.push({ task: entry.task, step: entry.step, seconds: entry.seconds ?? 0 });
      log(`  ${new Date().toISOString()} ${entry.task}: ${entry.step} ${(entry.seconds ?? 0).toFixed(1)} s`);
    } else if (entry.level === 'error' || entry.level === 'warn') log(`worker: ${line}`);
  });
  const client = await temporalClient(settings);
  // The clock starts once the worker polls: its start-up is not the retrain's.
  const bootDeadline = performance.now() + 300_000;
  while ((await workflowPollers(client, settings)) === 0) {
    if (worker.exitCode !== null) throw new Error(`the worker exited with ${worker.exitCode}`);
    if (performance.now() > bootDeadline)
      throw new Error('the worker did not poll its task queue within 5 min');
    await sleep(500);
  }
  const load = { start: loadavg()[0], end: 0, max: loadavg()[0] };
  const phases: RetrainScaleResult['phases'] = [];
  let peak = 0;
  let cpu = 0;
  const sample = async () => {
    const now = await sampleWorker(worker.pid ?? 0);
    peak = Math.max(peak, now.peakMiB);
    cpu = Math.max(cpu, now.cpuSeconds);
  };
  await sample();
  const cpuAtStart = cpu;
  const started = performance.now();
  try {
    const handle = await client.workflow.start('retrain', {
      taskQueue: settings.pipelineTaskQueue,
      workflowId: `${settings.prefix}retrain-scale`,
      args: [retrainInput(settings)],
    });
    let done = false;
    let outcome: RetrainResult | undefined;
    let failure: string | undefined;
    const result = handle.result().then(
      (r: RetrainResult) => {
        outcome = r;
      },
      (error: Error) => {
        failure = `${error.message}${error.cause instanceof Error ? `: ${error.cause.message}` : ''}`;
      },
    );
    void result.finally(() => {
      done = true;
    });
    let phase: RetrainPhase | undefined;
    let phaseStarted = started;
    let phaseCpu = cpu;
    // An interrupted bench still terminates its retrain, stops its worker and removes its namespace.
    let interrupted = false;
    const interrupt = () => {
      interrupted = true;
    };
    process.once('SIGINT', interrupt).once('SIGTERM', interrupt);
    while (!done) {
      if (interrupted) throw new Error('interrupted');
      await sample();
      load.max = Math.max(load.max, loadavg()[0]);
      const now = await handle.query(retrainPhase).catch(() => phase);
      if (now !== phase) {
        if (phase !== undefined)
          phases.push({
            phase,
            seconds: (performance.now() - phaseStarted) / 1000,
            cpuSeconds: cpu - phaseCpu,
          });
        log(
          `${new Date().toISOString()} phase ${now} at ${((performance.now() - started) / 1000).toFixed(0)} s, worker CPU ${(cpu - cpuAtStart).toFixed(0)} s, peak RSS ${peak.toFixed(0)} MiB, load ${loadavg()[0].toFixed(1)}`,
        );
        phase = now;
        phaseStarted = performance.now();
        phaseCpu = cpu;
      }
      if (worker.exitCode !== null) throw new Error(`the worker exited with ${worker.exitCode}`);
      await Promise.race([result, sleep(1_000)]);
    }
    await sample();
    if (phase !== undefined)
      phases.push({ phase, seconds: (performance.now() - phaseStarted) / 1000, cpuSeconds: cpu - phaseCpu });
    load.end = loadavg()[0];
    return {
      storeSeconds: store.seconds,
      storeReused: store.reused,
      wallSeconds: (performance.now() - started) / 1000,
      peakRssMiB: peak,
      cpuSeconds: cpu - cpuAtStart,
      phases,
      steps,
      loadAverage: load,
      result: outcome,
      failure,
    };
  } finally {
    await client.workflow
      .getHandle(`${settings.prefix}retrain-scale`)
      .terminate('bench over')
      .catch(() => undefined);
    await client.connection.close();
    worker.kill('SIGTERM');
    await Promise.race([new Promise((resolve) => worker.once('exit', resolve)), sleep(30_000)]);
    if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    await settings.cleanup();
    await rm(stateDir, { recursive: true, force: true });
  }
}

export function formatRetrainScale(r: RetrainScaleResult): string[] {
  const lines = [
    `store: ${r.storeReused ? 'reused from the cache' : `written directly (no Kafka) in ${r.storeSeconds.toFixed(0)} s`}`,
    `retrain wall time ${r.wallSeconds.toFixed(0)} s (${(r.wallSeconds / 60).toFixed(1)} min), worker CPU ${r.cpuSeconds.toFixed(0)} s, worker peak RSS ${r.peakRssMiB.toFixed(0)} MiB, load average ${r.loadAverage.start.toFixed(1)} → ${r.loadAverage.end.toFixed(1)} (max ${r.loadAverage.max.toFixed(1)})`,
    'phase       seconds  CPU seconds',
    ...r.phases.map(
      (p) =>
        `${p.phase.padEnd(10)}${p.seconds.toFixed(1).padStart(9)}${p.cpuSeconds.toFixed(1).padStart(13)}`,
    ),
    'training steps (task: step seconds)',
    ...r.steps.map((s) => `  ${s.task}: ${s.step} ${s.seconds.toFixed(1)}`),
  ];
  if (r.failure !== undefined) lines.push(`FAILED: ${r.failure}`);
  else if (r.result !== undefined)
    lines.push(
      `release ${r.result.release.version}: holdout NDCG@10 ${r.result.release.holdout.ndcgAt10.toFixed(4)}, fit ${r.result.release.fitSeconds.toFixed(0)} s, ranker ${r.result.release.ranker?.reason ?? 'none'}; gate: ${r.result.decision.reason}; backfill: ${JSON.stringify(r.result.backfill ?? null)}`,
    );
  return lines;
}

/**
 * How the soak reads and judges its processes' memory. Two measures, because each alone misleads:
 * - resident memory (RSS) of a process tree, the lowest of each window's 1 s samples: it counts
 *   native memory too, but after a release swap it settles upwards for minutes (the heap's
 *   reservations grow, freed pages are not returned) with nothing leaking;
 * - the JavaScript heap after each major collection, from V8's `--trace-gc` lines on the child's
 *   stdout: garbage is gone at that moment, so what a leak keeps is all that can make it grow.
 */
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProcessVerdict, SoakWindow } from '../schemas/soak-result';

/**
 * Flat: grows by less than this over the steady part. At 100 requests/s it is 170 bytes per
 * request; a per-request leak of one reply's JSON (≈2 KiB) would be 12 MiB/min and fail it.
 */
export const flatMiBPerMinute = 1;
/**
 * RSS keeps settling for minutes after a release swap, so it is judged only on a steady part at
 * least this long; a shorter run is judged on the heap alone, which settles with one collection.
 */
export const rssJudgedFromMinutes = 5;
/** Fewer major collections than this in the steady part leave the heap unjudged. */
const judgedCollections = 3;
/**
 * How much the heap after a major collection varies with nothing leaking (floating garbage):
 * a clean replica under 100 requests/s left 87.5, 87.0 and 88.6 MiB over one minute, a slope of
 * 1.3 MiB/min. The heap is flat when it grows by less than `flatMiBPerMinute` over the span of
 * its collections plus this; over two minutes that still fails a 2 KiB-per-request leak
 * (the same replica with one: 103.3, 109.4, 109.3, 115.5 MiB, 9.7 MiB/min).
 */
export const heapNoiseMiB = 2;

/** Whether some isolate has had enough major collections since `from` for its heap to be judged. */
export function heapJudgeable(
  collections: readonly Pick<MajorCollection, 'at' | 'isolate'>[],
  from: number,
): boolean {
  const counts = new Map<string, number>();
  for (const c of collections) if (c.at >= from) counts.set(c.isolate, (counts.get(c.isolate) ?? 0) + 1);
  return [...counts.values()].some((n) => n >= judgedCollections);
}

/**
 * A process that had no major collection for this long in the steady part is asked for one. Only
 * such a process: a busy one collects on its own, and a requested collection's pause would land in
 * the latency being measured. Every 30 s gives a two-minute steady part at least 3 points.
 */
export const collectionAskedAfterSeconds = 30;

/**
 * Whether a process should be asked for a full collection at `now` (seconds since the load
 * started): it is in the steady part and has had no major collection, in any isolate, since
 * `collectionAskedAfterSeconds` ago or since the steady part began, whichever is later. An idle
 * process then gets its heap judged like a busy one, on what a full collection leaves, and a
 * leak it keeps while idle still shows as growth between those points.
 */
export function collectionWanted(
  collections: readonly Pick<MajorCollection, 'at'>[],
  steadyFrom: number,
  now: number,
): boolean {
  if (now < steadyFrom) return false;
  const since = Math.max(steadyFrom, now - collectionAskedAfterSeconds);
  return !collections.some((c) => c.at >= since);
}

/** The heap left by one major collection in one isolate (a thread has its own) of a process. */
export interface MajorCollection {
  /** Seconds since the load started. */
  at: number;
  isolate: string;
  heapMiB: number;
}

/**
 * `[pid:isolate]  time ms: Mark-Compact before (committed) -> after (committed) MB, …`; the
 * "(reduce)" variant too. Scavenges are left out: they leave the old generation's garbage in place.
 */
const majorCollectionLine =
  /^\[\d+:(0x[0-9a-f]+)\]\s+[\d.]+ ms: Mark-Compact[^\d]*[\d.]+ \([\d.]+\) -> ([\d.]+) /;

export function majorCollectionOf(line: string): { isolate: string; heapMiB: number } | undefined {
  const match = majorCollectionLine.exec(line);
  return match === null ? undefined : { isolate: match[1], heapMiB: Number(match[2]) };
}

/** A window's memory: each process's lowest and highest RSS. */
export type WindowMemory = Pick<SoakWindow, 'at' | 'rssMiB' | 'peakMiB'>;

/**
 * Flat when the heap after collection does not grow beyond `flatMiBPerMinute` and its noise (or
 * could not be judged for want of collections) and, on a steady part long enough for RSS to have settled, neither does RSS; at
 * least one of the two must have been judged.
 */
export function verdictOf(
  name: string,
  windows: readonly WindowMemory[],
  collections: readonly MajorCollection[],
  steadyFrom: number,
): ProcessVerdict {
  const steady = windows.filter((w) => w.at >= steadyFrom);
  const floors = windows.map((w) => w.rssMiB[name]);
  const slope = leastSquaresSlope(steady.map((w) => [w.at / 60, w.rssMiB[name]]));
  const steadyMinutes = steady.length < 2 ? 0 : (steady[steady.length - 1].at - steady[0].at) / 60;
  const rssJudged = steadyMinutes >= rssJudgedFromMinutes;
  const inSteady = collections.filter((c) => c.at >= steadyFrom);
  const heapJudged = heapJudgeable(collections, steadyFrom);
  const judged = [...new Set(inSteady.map((c) => c.isolate))]
    .map((isolate) => inSteady.filter((c) => c.isolate === isolate))
    .filter((own) => own.length >= judgedCollections)
    .map((own) => {
      const slope = leastSquaresSlope(own.map((c) => [c.at / 60, c.heapMiB]));
      const minutes = (own[own.length - 1].at - own[0].at) / 60;
      return { slope, grows: slope * minutes >= flatMiBPerMinute * minutes + heapNoiseMiB };
    });
  const heapSlope = Math.max(Number.NEGATIVE_INFINITY, ...judged.map((j) => j.slope));
  const heapGrows = judged.some((j) => j.grows);
  const main = collections[0]?.isolate;
  return {
    process: name,
    firstMiB: floors[0] ?? Number.NaN,
    peakMiB: Math.max(...windows.map((w) => w.peakMiB[name])),
    lastMiB: floors.at(-1) ?? Number.NaN,
    slopeMiBPerMinute: slope,
    rssJudged,
    collections: inSteady.length,
    heapLastMiB: collections.filter((c) => c.isolate === main).at(-1)?.heapMiB ?? Number.NaN,
    heapSlopeMiBPerMinute: heapJudged ? heapSlope : Number.NaN,
    flat:
      (heapJudged || rssJudged) && (!heapJudged || !heapGrows) && (!rssJudged || slope < flatMiBPerMinute),
  };
}

export function leastSquaresSlope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxy / sxx;
}

interface Probed {
  name: string;
  process: ChildProcess;
}

/** Samples every second; `take` gives each child's lowest and highest RSS since the last take. */
export function memoryProbe(children: readonly Probed[]) {
  let floor: Record<string, number> = {};
  let peak: Record<string, number> = {};
  const sample = async () => {
    for (const [name, mib] of Object.entries(await residentMiB(children))) {
      floor[name] = Math.min(floor[name] ?? Number.POSITIVE_INFINITY, mib);
      peak[name] = Math.max(peak[name] ?? 0, mib);
    }
  };
  return {
    async run(stopped: () => boolean): Promise<void> {
      while (!stopped()) {
        await sample();
        await sleep(1_000);
      }
    },
    /** Samples once more, so a window the sampling loop fell behind in still has a figure. */
    async take(): Promise<{ floor: Record<string, number>; peak: Record<string, number> }> {
      await sample();
      const taken = { floor, peak };
      floor = {};
      peak = {};
      return taken;
    },
  };
}

/** Each child's resident memory with its descendants', from /proc. */
async function residentMiB(children: readonly Probed[]): Promise<Record<string, number>> {
  const parents = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (Number.isInteger(ppid)) parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
  }
  const result: Record<string, number> = {};
  for (const { name, process: child } of children) {
    let kib = 0;
    const tree = child.pid === undefined ? [] : [child.pid];
    while (tree.length > 0) {
      const pid = tree.pop() as number;
      const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
      kib += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      tree.push(...(parents.get(pid) ?? []));
    }
    result[name] = kib / 1024;
  }
  return result;
}

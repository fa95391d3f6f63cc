/**
 * The soak in the report: what `cairn bench soak` kept under CAIRN_STATE/reports (its command and
 * result as JSON), drawn as resident memory per process and serving latency per window, with the
 * retrain and the steady part (where memory is judged) marked. The same section is the demo
 * report's and, on its own page, the HTML the soak writes next to its JSON.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { type SoakResult, soakFileSchema } from '../../schemas/soak-result';
import { renderChart } from './charts';
import { escapeHtml, style, table } from './html';

export interface SoakRecord {
  command: string;
  /** When the run ended (its JSON was written), ISO 8601. */
  endedAt: string;
  result: SoakResult;
}

/** A soak result that is there but cannot be drawn: the report says so instead of failing. */
export interface UnreadableSoak {
  file: string;
  reason: string;
}

/**
 * The newest `soak-*.json` in `reportsDir`, by name (their names are the time they were written);
 * undefined when there is none.
 */
export async function newestSoakRecord(reportsDir: string): Promise<SoakRecord | UnreadableSoak | undefined> {
  const names = await readdir(reportsDir).catch(() => [] as string[]);
  const newest = names
    .filter((n) => /^soak-.*\.json$/.test(n))
    .sort()
    .at(-1);
  if (newest === undefined) return undefined;
  const file = join(reportsDir, newest);
  try {
    const parsed = soakFileSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    if (!parsed.success) return { file, reason: z.prettifyError(parsed.error) };
    return { ...parsed.data, endedAt: (await stat(file)).mtime.toISOString() };
  } catch (error) {
    return { file, reason: (error as Error).message };
  }
}

const chartWidth = 640;
const minutes = (seconds: number) => `${(seconds / 60).toFixed(1)} min`;
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const mib = (x: number) => (Number.isNaN(x) ? '–' : x.toFixed(1));

/**
 * The retrain's start and end, the first answer from its release, and the steady part, as layers
 * under each chart: the memory a retrain and a release swap add is expected, and only the steady
 * part's is judged, so a reader must see where each begins.
 */
function markers(r: SoakRecord['result']) {
  const t = r.retrain;
  const events = [
    { label: 'retrain started', at: t.startedAt },
    { label: 'retrain finished', at: t.finishedAt ?? Number.NaN },
    { label: 'new release served', at: t.pickedUpAt ?? Number.NaN },
  ].filter((e) => Number.isFinite(e.at));
  const end = r.windows.at(-1)?.at ?? 0;
  const steady = Number.isFinite(r.steadyFrom) && r.steadyFrom < end ? [{ from: r.steadyFrom, to: end }] : [];
  return [
    {
      data: { values: steady },
      mark: { type: 'rect' as const, color: '#2a9d8f', opacity: 0.12 },
      encoding: { x: { field: 'from', type: 'quantitative' as const }, x2: { field: 'to' } },
    },
    {
      data: { values: steady },
      mark: {
        type: 'text' as const,
        align: 'left' as const,
        baseline: 'top' as const,
        dx: 4,
        y: 4,
        fontSize: 10,
        color: '#2a7d72',
      },
      encoding: {
        x: { field: 'from', type: 'quantitative' as const },
        text: { value: 'steady part (judged)' },
      },
    },
    {
      data: { values: events },
      mark: { type: 'rule' as const, strokeDash: [4, 3], color: '#666' },
      encoding: { x: { field: 'at', type: 'quantitative' as const } },
    },
    {
      data: { values: events },
      mark: {
        type: 'text' as const,
        angle: 270,
        align: 'right' as const,
        baseline: 'bottom' as const,
        y: 18,
        dy: -2,
        fontSize: 10,
        color: '#444',
      },
      encoding: { x: { field: 'at', type: 'quantitative' as const }, text: { field: 'label' } },
    },
  ];
}

/** The soak's figures, verdicts and charts; without a run, how to make one. */
export async function soakSection(record: SoakRecord | UnreadableSoak | undefined): Promise<string> {
  const howTo =
    'Run <code>cairn bench soak --minutes 30</code>: it keeps its result under <code>CAIRN_STATE/reports</code>, and the next report draws it here.';
  if (record === undefined) return `<p>No soak has been run with this state directory. ${howTo}</p>`;
  if ('reason' in record)
    return `<p>The newest soak result, <code>${escapeHtml(record.file)}</code>, cannot be read: ${escapeHtml(record.reason)}. ${howTo}</p>`;
  const r = record.result;
  const names = r.verdicts.map((v) => v.process);
  const rss = r.windows.flatMap((w) =>
    names
      .filter((n) => Number.isFinite(w.rssMiB[n]))
      .map((n) => ({ at: w.at, process: n, mib: w.rssMiB[n] })),
  );
  const latency = r.windows.flatMap((w) =>
    (['p50', 'p99'] as const)
      .filter((q) => Number.isFinite(w[q]))
      .map((q) => ({ at: w.at, quantile: q, ms: w[q] })),
  );
  const loads = r.windows.map((w) => w.load);
  const seconds = r.windows.at(-1)?.at ?? 0;
  const x = {
    field: 'at',
    type: 'quantitative' as const,
    title: 'seconds since the load started',
    scale: { domain: [0, seconds], nice: false },
  };
  const t = r.retrain;
  const summary = `<p><code>${escapeHtml(record.command)}</code>, ended ${escapeHtml(record.endedAt)}: ${minutes(seconds)} of load, machine load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} (1 min) over the run. ${r.requests} requests, ${r.errors} errors, ${r.timeouts} time-outs; ${r.clicksProduced} clicks, ${r.clicksMissing} missing from the store. Retrain started at ${t.startedAt.toFixed(0)} s, ${t.finishedAt === undefined ? 'did not finish' : `finished at ${t.finishedAt.toFixed(0)} s`}${t.to === undefined ? '' : `; serving ${escapeHtml(t.from)} → ${escapeHtml(t.to)}${t.pickedUpAt === undefined ? ', never served' : ` from ${t.pickedUpAt.toFixed(0)} s`}`}. Memory is judged from ${Number.isFinite(r.steadyFrom) ? `${r.steadyFrom.toFixed(0)} s` : 'nowhere'} on the heap each major collection leaves (and on the lowest RSS when that part is 5 min or more).</p><p class="verdict"><b>${r.passed ? 'PASS' : 'FAIL'}</b>: memory ${r.memoryFlat ? 'flat' : '<b>not flat</b>'}; errors and time-outs ${pct((r.errors + r.timeouts) / Math.max(1, r.requests))} of requests, ${r.errorsWithinBound ? 'within' : '<b>above</b>'} the bound${r.interrupted ? '; <b>interrupted</b>' : ''}${r.exitedEarly.length === 0 ? '' : `; <b>exited early</b>: ${escapeHtml(r.exitedEarly.join(', '))}`}.</p>`;
  const verdicts = table(
    [
      'process',
      'lowest RSS first → last (MiB)',
      'RSS slope (MiB/min)',
      'heap after GC (MiB)',
      'heap slope (MiB/min)',
      'major GCs judged',
      'verdict',
    ],
    r.verdicts.map((v) => [
      v.process,
      `${mib(v.firstMiB)} → ${mib(v.lastMiB)}`,
      `${v.slopeMiBPerMinute.toFixed(2)}${v.rssJudged ? '' : ' (not judged)'}`,
      mib(v.heapLastMiB),
      Number.isNaN(v.heapSlopeMiBPerMinute) ? 'not judged' : v.heapSlopeMiBPerMinute.toFixed(2),
      v.collections,
      v.flat ? 'flat' : 'GROWING',
    ]),
  );
  const memoryChart = await renderChart({
    title: 'Resident memory per process (lowest of each 10 s window, MiB)',
    width: chartWidth,
    height: 240,
    layer: [
      ...markers(r),
      {
        data: { values: rss },
        mark: { type: 'line', point: { size: 12 } },
        encoding: {
          x,
          y: { field: 'mib', type: 'quantitative', title: 'MiB' },
          color: { field: 'process', type: 'nominal', sort: names },
        },
      },
    ],
  });
  const latencyChart = await renderChart({
    title: 'Serving latency per 10 s window (ms, from when each request was due)',
    width: chartWidth,
    height: 180,
    layer: [
      ...markers(r),
      {
        data: { values: latency },
        mark: { type: 'line', point: { size: 12 } },
        encoding: {
          x,
          y: { field: 'ms', type: 'quantitative', title: 'ms' },
          color: {
            field: 'quantile',
            type: 'nominal',
            scale: { domain: ['p50', 'p99'], range: ['#8ab', '#d62728'] },
          },
        },
      },
    ],
  });
  return `${summary}${verdicts}${memoryChart}${latencyChart}`;
}

/** The soak on a page of its own: what `cairn bench soak` writes next to its JSON. */
export async function renderSoakPage(record: SoakRecord): Promise<string> {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Cairn soak</title><style>${style}</style></head>
<body><h1>Cairn soak</h1><section id="soak">${await soakSection(record)}</section>
</body></html>
`;
}

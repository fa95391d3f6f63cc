/**
 * The demo's report: one self-contained HTML file (inline CSS and SVG, no script, no fetch), so it
 * opens offline and can be mailed. Every section has a stable id that the report test checks.
 */
import type { AbReport } from '../evaluation/ab-analysis';
import type { OffPolicyEstimate } from '../evaluation/counterfactual';
import { type ChartSpec, renderChart } from './charts';
import { escapeHtml, style, table } from './html';
import type { SlateQuality } from './slate-quality';
import { type SoakRecord, soakSection, type UnreadableSoak } from './soak-report';

export interface OfflineRow {
  protocol: string;
  model: string;
  ndcgAt10: number;
  recallAt10: number;
}

export interface LifecycleTimeline {
  itemId: string;
  title: string;
  /** Seconds since the replay started at which the item entered each stage. */
  stages: { stage: string; at: number }[];
  budgetGranted: number;
  impressions: number;
  interactions: number;
}

export interface DemoReportData {
  generatedAt: string;
  /** What the run chose (sample sizes, click model, variants), one line each. */
  setup: string[];
  offline: OfflineRow[];
  slateQuality: SlateQuality[];
  latency: { totalMs: number[]; stageMeansMs: Record<string, number> };
  ab: AbReport;
  counterfactual?: {
    logged: string;
    candidate: string;
    estimate: OffPolicyEstimate;
    measured: { rate: number; low: number; high: number };
  };
  lifecycles: LifecycleTimeline[];
  /** How long the replay ran: the last stage of each lifecycle is drawn to its end. */
  replaySeconds: number;
  /** Milliseconds from a click's publication to the user's session showing it; undefined: not measured. */
  clickToEffectMs?: number[];
  clickToEffectNote?: string;
  gate: { decision: string; lines: string[] };
  /** The newest `cairn bench soak` run in the state directory; undefined: none has been run. */
  soak?: SoakRecord | UnreadableSoak;
}

export const reportSections = [
  ['offline-metrics', 'Offline metrics per model and protocol'],
  ['slate-quality', 'Served slates in the replay'],
  ['serving-latency', 'Serving latency'],
  ['ab-test', 'A/B test'],
  ['counterfactual', 'Counterfactual estimate of the challenger'],
  ['lifecycles', 'New items: lifecycles'],
  ['click-to-effect', 'Click-to-effect latency'],
  ['retrain-gate', "The retrain gate's decision"],
  ['soak', 'Soak: memory and latency over a long run'],
] as const;

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const fixed = (x: number, digits = 4) => x.toFixed(digits);

function percentile(sorted: number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const intervalChart = (
  title: string,
  rows: { label: string; value: number; low: number; high: number }[],
): ChartSpec => ({
  title,
  width: 420,
  height: { step: 28 },
  data: { values: rows },
  layer: [
    {
      mark: { type: 'rule', strokeWidth: 2 },
      encoding: {
        y: { field: 'label', type: 'nominal', title: null },
        x: { field: 'low', type: 'quantitative', title: 'CTR', axis: { format: '.1%' } },
        x2: { field: 'high' },
      },
    },
    {
      mark: { type: 'point', filled: true, size: 80 },
      encoding: {
        y: { field: 'label', type: 'nominal' },
        x: { field: 'value', type: 'quantitative' },
        color: { field: 'label', type: 'nominal', legend: null },
      },
    },
  ],
});

function histogram(title: string, values: number[], unit: string): ChartSpec {
  return {
    title,
    width: 520,
    height: 200,
    data: { values: values.map((v) => ({ v })) },
    mark: 'bar',
    encoding: {
      x: { field: 'v', type: 'quantitative', bin: { maxbins: 40 }, title: unit },
      y: { aggregate: 'count', type: 'quantitative', title: 'requests' },
    },
  };
}

async function sections(d: DemoReportData): Promise<Record<(typeof reportSections)[number][0], string>> {
  const offline = `${table(
    ['protocol', 'model', 'NDCG@10', 'recall@10'],
    d.offline.map((r) => [r.protocol, r.model, fixed(r.ndcgAt10), fixed(r.recallAt10)]),
  )}${await renderChart({
    title: 'NDCG@10 on the test split (full ranking)',
    width: 220,
    height: 200,
    data: { values: d.offline },
    mark: 'bar',
    encoding: {
      column: { field: 'protocol', type: 'nominal', title: null },
      x: { field: 'model', type: 'nominal', title: null, axis: { labelAngle: -30 } },
      y: { field: 'ndcgAt10', type: 'quantitative', title: 'NDCG@10' },
      color: { field: 'model', type: 'nominal', legend: null },
    },
  })}`;

  const qualityLong = d.slateQuality.flatMap((q) =>
    (['ndcgAt10', 'ctr', 'coverage', 'diversity', 'novelty'] as const).map((metric) => ({
      variant: q.variant,
      metric,
      value: q[metric],
    })),
  );
  const quality = `${table(
    [
      'variant',
      'slates',
      'NDCG@10 vs held-out',
      'CTR',
      'catalog coverage',
      'intra-list diversity',
      'novelty (bits)',
    ],
    d.slateQuality.map((q) => [
      q.variant,
      q.slates,
      fixed(q.ndcgAt10),
      pct(q.ctr),
      pct(q.coverage),
      fixed(q.diversity, 3),
      fixed(q.novelty, 2),
    ]),
  )}${await renderChart({
    title: 'Slate quality per variant',
    data: { values: qualityLong },
    facet: { column: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: 110,
      height: 160,
      mark: 'bar',
      encoding: {
        x: { field: 'variant', type: 'nominal', title: null },
        y: { field: 'value', type: 'quantitative', title: null },
        color: { field: 'variant', type: 'nominal' },
      },
    },
    resolve: { scale: { y: 'independent' } },
  })}`;

  const sorted = [...d.latency.totalMs].sort((a, b) => a - b);
  const stages = Object.entries(d.latency.stageMeansMs).map(([stage, ms]) => ({ stage, ms }));
  const latency = `<p>${sorted.length} requests over NATS, measured by the client from when each was due to be sent to its reply: p50 ${fixed(percentile(sorted, 0.5), 1)} ms, p95 ${fixed(percentile(sorted, 0.95), 1)} ms, p99 ${fixed(percentile(sorted, 0.99), 1)} ms. Per-stage times are the replica's own (<code>timings</code> in each reply).</p>${await renderChart(
    histogram('Round-trip latency of recommend requests', sorted, 'ms'),
  )}${await renderChart({
    title: 'Mean time per pipeline stage (ms)',
    width: 520,
    height: 60,
    data: { values: stages },
    mark: 'bar',
    encoding: {
      x: { field: 'ms', type: 'quantitative', stack: 'zero', title: 'ms' },
      color: { field: 'stage', type: 'nominal', sort: null },
      order: { field: 'stage' },
    },
  })}`;

  const ab = `${table(
    ['variant', 'users', 'slates', 'items shown', 'clicks', 'CTR [95% CI]', 'conversion [95% CI]'],
    d.ab.variants.map((v) => [
      v.variant,
      v.users,
      v.slates,
      v.impressions,
      v.clicks,
      `${pct(v.ctr.rate)} [${pct(v.ctr.low)}, ${pct(v.ctr.high)}]`,
      `${pct(v.conversion.rate)} [${pct(v.conversion.low)}, ${pct(v.conversion.high)}]`,
    ]),
  )}<p class="verdict">${d.ab.comparisons.map((c) => `${escapeHtml(c.variant)} vs ${escapeHtml(c.against)}: lift ${(c.lift * 100).toFixed(1)}%, z = ${c.z.toFixed(2)}. <b>${escapeHtml(c.verdict)}</b>`).join('<br>') || 'only one variant served'}</p>${await renderChart(
    intervalChart(
      'CTR per variant, 95% Wilson intervals',
      d.ab.variants.map((v) => ({ label: v.variant, value: v.ctr.rate, low: v.ctr.low, high: v.ctr.high })),
    ),
  )}`;

  const c = d.counterfactual;
  const counterfactual =
    c === undefined
      ? '<p>Not measured: no logged slate had a shadow slate of the challenger.</p>'
      : `<p>The challenger <b>${escapeHtml(c.candidate)}</b> answered every request of <b>${escapeHtml(c.logged)}</b>'s users in shadow (never shown); weighting ${escapeHtml(c.logged)}'s logged clicks by the challenger's probability of each item at its position over the logged propensity estimates the challenger's CTR without showing it. ${c.estimate.slates} slates, ${c.estimate.slots} items, weights clipped on ${pct(c.estimate.clippedShare)}, effective sample ${Math.round(c.estimate.effectiveSlots)} items. IPS is unbiased only where the challenger's choices were possible under the logging policy: a ranked slot where the two differ was reachable only by ε-exploration, so IPS under-counts it; SNIPS renormalises by the weights actually observed.</p>${table(
          ['estimate', 'CTR', '95% interval'],
          [
            [
              `IPS (${c.candidate} from ${c.logged}'s log)`,
              pct(c.estimate.ips.value),
              `[${pct(c.estimate.ips.low)}, ${pct(c.estimate.ips.high)}]`,
            ],
            [
              `SNIPS (${c.candidate} from ${c.logged}'s log)`,
              pct(c.estimate.snips.value),
              `[${pct(c.estimate.snips.low)}, ${pct(c.estimate.snips.high)}]`,
            ],
            [
              `${c.candidate} measured in the A/B test`,
              pct(c.measured.rate),
              `[${pct(c.measured.low)}, ${pct(c.measured.high)}]`,
            ],
            [
              `${c.logged} measured (the logging policy)`,
              pct(c.estimate.logged.value),
              `[${pct(c.estimate.logged.low)}, ${pct(c.estimate.logged.high)}]`,
            ],
          ],
        )}${await renderChart(
          intervalChart('Off-policy estimates next to measured CTRs', [
            { label: 'IPS estimate', ...c.estimate.ips },
            { label: 'SNIPS estimate', ...c.estimate.snips },
            {
              label: `${c.candidate} measured`,
              value: c.measured.rate,
              low: c.measured.low,
              high: c.measured.high,
            },
            { label: `${c.logged} measured`, ...c.estimate.logged },
          ]),
        )}`;

  const segments = d.lifecycles.flatMap((l) =>
    l.stages.map((stage, i) => ({
      item: `${l.itemId}: ${l.title}`,
      stage: stage.stage,
      from: stage.at,
      to: l.stages[i + 1]?.at ?? Math.max(stage.at, d.replaySeconds),
    })),
  );
  const lifecycles =
    d.lifecycles.length === 0
      ? '<p>No new item arrived during the replay.</p>'
      : `${table(
          [
            'item',
            'stages (s after the replay started)',
            'budget granted',
            'impressions',
            'budget used',
            'interactions',
          ],
          d.lifecycles.map((l) => [
            `${l.itemId}: ${l.title}`,
            l.stages.map((s) => `${s.stage} ${s.at.toFixed(0)}`).join(' → '),
            l.budgetGranted,
            l.impressions,
            l.budgetGranted === 0 ? '–' : pct(Math.min(1, l.impressions / l.budgetGranted)),
            l.interactions,
          ]),
        )}${await renderChart({
          title: 'Lifecycle of each new item during the replay',
          width: 560,
          height: { step: 30 },
          data: { values: segments },
          mark: 'bar',
          encoding: {
            y: { field: 'item', type: 'nominal', title: null },
            x: { field: 'from', type: 'quantitative', title: 'seconds after the replay started' },
            x2: { field: 'to' },
            color: {
              field: 'stage',
              type: 'nominal',
              scale: { domain: ['cold', 'exploring', 'warm', 'retired', 'blocked'] },
            },
          },
        })}`;

  const effect =
    d.clickToEffectMs === undefined || d.clickToEffectMs.length === 0
      ? `<p>Not measured${d.clickToEffectNote === undefined ? '' : `: ${escapeHtml(d.clickToEffectNote)}`}.</p>`
      : `<p>${d.clickToEffectMs.length} clicks: from the click's publication to Kafka until the user's session, in the bucket the replicas follow (watched here by the demo's own view of it), holds the item. p50 ${fixed(
          percentile(
            [...d.clickToEffectMs].sort((a, b) => a - b),
            0.5,
          ),
          0,
        )} ms, p95 ${fixed(
          percentile(
            [...d.clickToEffectMs].sort((a, b) => a - b),
            0.95,
          ),
          0,
        )} ms.</p>${await renderChart(histogram('Click-to-effect latency', d.clickToEffectMs, 'ms'))}`;

  const gate = `<p class="verdict"><b>${escapeHtml(d.gate.decision)}</b></p><ul>${d.gate.lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`;
  return {
    'offline-metrics': offline,
    'slate-quality': quality,
    'serving-latency': latency,
    'ab-test': ab,
    counterfactual,
    lifecycles,
    'click-to-effect': effect,
    'retrain-gate': gate,
    soak: await soakSection(d.soak),
  };
}

export async function renderDemoReport(d: DemoReportData): Promise<string> {
  const body = await sections(d);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Cairn demo report</title><style>${style}</style></head>
<body><h1>Cairn demo report</h1><p class="setup">Generated ${escapeHtml(d.generatedAt)}</p>
<ul class="setup">${d.setup.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>
${reportSections.map(([id, title]) => `<section id="${id}"><h2>${escapeHtml(title)}</h2>${body[id]}</section>`).join('\n')}
</body></html>
`;
}

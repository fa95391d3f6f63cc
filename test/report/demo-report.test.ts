/**
 * The demo report opens in headless Chromium (Debian's `chromium`, installed by deploy/setup.sh)
 * with every section and chart present, and loads nothing from outside the file.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Impression, Interaction } from '../../schemas/events';
import { analyseAb } from '../../services/evaluation/ab-analysis';
import { estimatePolicyValue } from '../../services/evaluation/counterfactual';
import { type DemoReportData, renderDemoReport, reportSections } from '../../services/report/demo-report';
import { slateQuality } from '../../services/report/slate-quality';

const run = promisify(execFile);

export function reportFixture(): DemoReportData {
  const impressions: Impression[] = [];
  const clicks: Interaction[] = [];
  for (let s = 0; s < 400; s++) {
    const variant = s % 2 === 0 ? 'control' : 'challenger';
    const slateId = `s${s}`;
    impressions.push({
      slateId,
      userId: `u${s % 50}`,
      surface: 'homepage',
      servedAt: Date.UTC(2026, 0, 1),
      variant,
      modelVersions: {},
      items: Array.from({ length: 10 }, (_, p) => ({
        itemId: `i${(s + p) % 90}`,
        position: p,
        score: 1,
        propensity: 0.95,
      })),
    });
    if (s % 3 === 0)
      clicks.push({
        type: 'click',
        eventId: `c${s}`,
        userId: `u${s % 50}`,
        itemId: `i${s % 90}`,
        occurredAt: Date.UTC(2026, 0, 1),
        surface: 'homepage',
        slateId,
      });
  }
  const served = impressions.map((i) => ({
    variant: i.variant,
    userId: i.userId,
    items: i.items.map((x) => x.itemId),
    clicks: clicks.filter((c) => c.slateId === i.slateId).length,
  }));
  const ab = analyseAb(impressions, clicks, { control: 'control', alpha: 0.05, confidence: 0.95 });
  const estimate = estimatePolicyValue(
    impressions
      .filter((i) => i.variant === 'control')
      .map((i) =>
        i.items.map((_item, p) => ({
          reward: p === 0 ? 0.1 : 0,
          loggingPropensity: 0.95,
          targetProbability: p < 5 ? 0.95 : 0.02,
        })),
      ),
    { clip: 100, bootstrapSamples: 100, confidence: 0.95, seed: 1 },
  );
  const challenger = ab.variants.find((v) => v.variant === 'challenger');
  assert.ok(challenger !== undefined);
  return {
    generatedAt: '2026-01-01T00:00:00Z',
    setup: ['a fixture'],
    offline: ['stratified', 'temporal'].flatMap((protocol) =>
      ['popularity', 'ease', 'ials'].map((model, i) => ({
        protocol,
        model,
        ndcgAt10: 0.1 + i * 0.1,
        recallAt10: 0.2 + i * 0.05,
      })),
    ),
    slateQuality: slateQuality(served, {
      heldOut: new Map([['u1', new Set(['i1', 'i2'])]]),
      categories: new Map([
        ['i1', ['Drama']],
        ['i2', ['Comedy', 'Drama']],
      ]),
      popularity: new Map([['i1', 10]]),
      trainInteractions: 1000,
      catalogSize: 100,
    }),
    latency: {
      totalMs: Array.from({ length: 500 }, (_, i) => 2 + (i % 37) / 3),
      stageMeansMs: { candidates: 1.2, filter: 0.2, rank: 0.4, postprocess: 0.3 },
    },
    ab,
    counterfactual: { logged: 'control', candidate: 'challenger', estimate, measured: challenger.ctr },
    lifecycles: [
      {
        itemId: 'new-1',
        title: 'A new film',
        stages: [
          { stage: 'cold', at: 3 },
          { stage: 'exploring', at: 4 },
          { stage: 'warm', at: 60 },
        ],
        budgetGranted: 500,
        impressions: 320,
        interactions: 101,
      },
      {
        itemId: 'new-2',
        title: 'Another',
        stages: [
          { stage: 'cold', at: 30 },
          { stage: 'exploring', at: 31 },
        ],
        budgetGranted: 500,
        impressions: 80,
        interactions: 3,
      },
    ],
    replaySeconds: 90,
    clickToEffectMs: Array.from({ length: 100 }, (_, i) => 20 + i),
    gate: { decision: 'PROMOTE', lines: ['holdout NDCG@10 0.1234 vs champion none'] },
  };
}

describe('the demo report', () => {
  it('opens in headless Chromium with every section and chart, offline', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-report-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const html = await renderDemoReport(reportFixture());
    assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/, 'the report loads nothing from outside');
    const file = join(dir, 'report.html');
    await writeFile(file, html);
    const chromium = ['chromium', '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'];
    const { stdout: dom } = await run(chromium[0], [...chromium.slice(1), '--dump-dom', `file://${file}`], {
      timeout: 90_000,
      maxBuffer: 64 * 2 ** 20,
    });
    for (const [id] of reportSections) assert.match(dom, new RegExp(`<section id="${id}">`), `section ${id}`);
    // offline 1, slate quality 1, latency 2, A/B 1, counterfactual 1, lifecycles 1, click-to-effect 1
    assert.equal(dom.match(/<svg[\s>]/g)?.length, 8);
    assert.doesNotMatch(dom, /Not measured/);
    const shot = join(dir, 'report.png');
    await run(
      chromium[0],
      [...chromium.slice(1), `--screenshot=${shot}`, '--window-size=1280,4000', `file://${file}`],
      {
        timeout: 90_000,
      },
    );
    assert.ok((await stat(shot)).size > 20_000, 'the screenshot shows something');
  });

  it('says "not measured" where a part did not run', async () => {
    const data = reportFixture();
    const html = await renderDemoReport({
      ...data,
      counterfactual: undefined,
      clickToEffectMs: undefined,
      clickToEffectNote: 'no session state',
    });
    assert.match(html, /<section id="click-to-effect"><h2>[^<]*<\/h2><p>Not measured: no session state/);
    assert.match(html, /<section id="counterfactual"><h2>[^<]*<\/h2><p>Not measured/);
  });
});

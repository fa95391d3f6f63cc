/**
 * The soak section of the report: drawn from a soak's result as `cairn bench soak` keeps it (JSON,
 * where a NaN figure is null), with the retrain, the steady part and every process's verdict.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { SoakResult } from '../../schemas/soak-result';
import { newestSoakRecord, renderSoakPage, soakSection } from '../../services/report/soak-report';

/** Four minutes in 10 s windows: a retrain from 120 s to 170 s, served from 175 s, judged from 205 s. */
export function soakFixture(): SoakResult {
  const windows = Array.from({ length: 24 }, (_, i) => {
    const at = (i + 1) * 10;
    return {
      at,
      rssMiB: { serve: 400 + (at > 175 ? 40 : 0), worker: 300 + (at > 120 && at < 170 ? 500 : 0) },
      peakMiB: { serve: 450, worker: 900 },
      sent: 1000,
      answered: 1000,
      p50: 6,
      p99: at > 120 && at < 170 ? 180 : 40,
      errors: 0,
      timeouts: 0,
      clicks: 200,
      load: 3 + i / 10,
      release: at > 175 ? 'v2' : 'v1',
    };
  });
  const verdict = (process: string, flat: boolean) => ({
    process,
    firstMiB: 400,
    peakMiB: 450,
    lastMiB: 440,
    slopeMiBPerMinute: 0.4,
    rssJudged: false,
    collections: flat ? 4 : 0,
    heapLastMiB: 90,
    heapSlopeMiBPerMinute: flat ? 0.2 : Number.NaN,
    flat,
  });
  return {
    windows,
    steadyFrom: 205,
    verdicts: [verdict('serve', true), verdict('worker', false)],
    requests: 24_000,
    errors: 0,
    errorCodes: {},
    timeouts: 0,
    clicksProduced: 4_800,
    clickSendErrors: 0,
    clicksMissing: 0,
    retrain: {
      startedAt: 120,
      finishedAt: 170,
      promoted: true,
      reason: 'better',
      from: 'v1',
      to: 'v2',
      pickedUpAt: 175,
    },
    memoryFlat: false,
    errorsWithinBound: true,
    interrupted: false,
    exitedEarly: [],
    passed: false,
  };
}

const record = {
  command: 'cairn bench soak --minutes 2',
  endedAt: '2026-11-30T10:00:00.000Z',
  result: soakFixture(),
};

describe('the soak in the report', () => {
  it('draws memory per process and latency per window with the retrain and the steady part marked, and says each verdict', async () => {
    const html = await soakSection(record);
    assert.equal(html.match(/<svg[\s>]/g)?.length, 2, 'a memory chart and a latency chart');
    for (const label of ['retrain started', 'retrain finished', 'new release served', 'steady part (judged)'])
      assert.equal(html.split(`>${label}<`).length - 1, 2, `"${label}" marked on both charts`);
    for (const text of [
      'cairn bench soak --minutes 2',
      '2026-11-30T10:00:00.000Z',
      'load average 3.0–5.3',
      'serve',
      'worker',
    ])
      assert.ok(html.includes(text), `shows ${text}`);
    assert.match(html, /<tr><td>serve<\/td>.*?<td>flat<\/td><\/tr>/);
    assert.match(html, /<tr><td>worker<\/td>.*?<td>not judged<\/td><td>0<\/td><td>GROWING<\/td><\/tr>/);
    assert.match(
      html,
      /<b>FAIL<\/b>: memory <b>not flat<\/b>; errors and time-outs 0.00% of requests, within the bound\./,
    );
    const page = await renderSoakPage(record);
    assert.ok(page.includes(html), 'the standalone page is the same section');
    assert.doesNotMatch(page, /<script|https?:\/\/(?!www\.w3\.org)/, 'the page loads nothing from outside');
  });

  it('without a run, says how to make one', async () => {
    assert.match(await soakSection(undefined), /No soak has been run.*cairn bench soak --minutes 30/);
  });

  it('reads the newest soak result in a reports directory, NaN figures included; a file that is not one is named in the section, not thrown', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-soak-report-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    assert.equal(await newestSoakRecord(dir), undefined);
    assert.equal(await newestSoakRecord(join(dir, 'missing')), undefined);
    const older = { ...soakFixture(), requests: 1 };
    await writeFile(
      join(dir, 'soak-2026-11-30T09-00-00-000Z.json'),
      JSON.stringify({ command: 'old', result: older }),
    );
    await writeFile(
      join(dir, 'soak-2026-11-30T10-00-00-000Z.json'),
      JSON.stringify({ command: record.command, result: record.result }),
    );
    await writeFile(join(dir, 'demo-2026-11-30T11-00-00-000Z.html'), '<html></html>');
    const read = await newestSoakRecord(dir);
    assert.ok(read !== undefined && !('reason' in read));
    assert.equal(read.command, record.command);
    assert.equal(read.result.requests, 24_000);
    assert.ok(Number.isNaN(read.result.verdicts[1].heapSlopeMiBPerMinute), 'null in the JSON is NaN again');
    assert.equal(await soakSection(read), await soakSection({ ...record, endedAt: read.endedAt }));
    await writeFile(
      join(dir, 'soak-2026-11-30T12-00-00-000Z.json'),
      JSON.stringify({ command: 'x', result: {} }),
    );
    const wrong = await newestSoakRecord(dir);
    assert.ok(wrong !== undefined && 'reason' in wrong);
    assert.match(
      await soakSection(wrong),
      /soak-2026-11-30T12-00-00-000Z\.json<\/code>, cannot be read: .*result\.windows/s,
    );
    await writeFile(join(dir, 'soak-2026-11-30T13-00-00-000Z.json'), '{"command": ');
    assert.match(await soakSection(await newestSoakRecord(dir)), /cannot be read: .*JSON/);
  });
});

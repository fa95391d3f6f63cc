/** The daily retrain schedule runs with the config it was applied with, and only `schedule apply` makes it. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runRetrain } from '../../cli/retrain';
import { applySchedule } from '../../cli/schedule';
import { type ScratchSettings, scratchNamespace } from '../../services/config/scratch-namespace';
import { dailyRetrainScheduleId, describeDailyRetrainSchedule } from '../../services/orchestration/schedules';
import { temporalClient } from '../../services/orchestration/temporal';
import { parseTrainingConfig } from '../../services/training/config';

/** Runs `body` with a client, and deletes the namespace's schedule afterwards. */
async function withSchedule(
  settings: ScratchSettings,
  body: (client: Awaited<ReturnType<typeof temporalClient>>) => Promise<void>,
): Promise<void> {
  const client = await temporalClient(settings);
  try {
    await body(client);
  } finally {
    await client.schedule
      .getHandle(dailyRetrainScheduleId(settings))
      .delete()
      .catch(() => undefined);
    await client.connection.close();
  }
}

test('schedule apply puts its config in the schedule, and applying again replaces it', async () => {
  const settings = await scratchNamespace();
  const dir = await mkdtemp(join(tmpdir(), 'cairn-schedule-'));
  try {
    await withSchedule(settings, async (client) => {
      const first = { ials: { factors: 24, epochs: 4 }, gateTolerance: 0.01 };
      const second = { ials: { factors: 48, lambda: 50 }, holdoutSeed: 11 };
      await writeFile(join(dir, 'first.json'), JSON.stringify(first));
      await writeFile(join(dir, 'second.json'), JSON.stringify(second));

      await applySchedule(settings, join(dir, 'first.json'));
      const applied = await describeDailyRetrainSchedule(client, settings);
      assert.deepEqual(applied?.input.config, parseTrainingConfig(first));
      assert.equal(applied?.input.alias, settings.itemsAlias);
      assert.ok((applied?.nextRuns.length ?? 0) > 0, 'the schedule has runs ahead');

      await applySchedule(settings, join(dir, 'second.json'));
      const updated = await describeDailyRetrainSchedule(client, settings);
      assert.deepEqual(updated?.input.config, parseTrainingConfig(second));

      await applySchedule(settings);
      const defaults = await describeDailyRetrainSchedule(client, settings);
      assert.deepEqual(defaults?.input.config, parseTrainingConfig({}), 'defaults, written out');
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
    await settings.cleanup();
  }
});

test('cairn retrain does not create the daily schedule', async () => {
  const settings = await scratchNamespace();
  try {
    await withSchedule(settings, async (client) => {
      // The store is empty, so the run fails fast: after the point where the schedule used to be made.
      await assert.rejects(runRetrain(settings, { inProcess: true }));
      assert.equal(await describeDailyRetrainSchedule(client, settings), undefined);
    });
  } finally {
    await settings.cleanup();
  }
});

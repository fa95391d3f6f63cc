/** `cairn schedule apply|show`: the daily retrain schedule and the training config it runs with. */
import type { CairnSettings } from '../services/config/environment';
import { applyDailyRetrainSchedule, describeDailyRetrainSchedule } from '../services/orchestration/schedules';
import { temporalClient } from '../services/orchestration/temporal';
import { parseTrainingConfig, readTrainingConfigFile } from '../services/training/config';

export async function applySchedule(settings: CairnSettings, configFile?: string): Promise<string[]> {
  // Defaults are written out, so the schedule shows exactly what its runs train.
  const config =
    configFile === undefined ? parseTrainingConfig({}) : await readTrainingConfigFile(configFile);
  const client = await temporalClient(settings);
  try {
    const applied = await applyDailyRetrainSchedule(client, settings, config);
    return [
      `schedule ${applied.scheduleId}: ${applied.cronExpressions.join(', ')} (UTC), config ${configFile ?? '(defaults)'}`,
      `  ${JSON.stringify(applied.input.config)}`,
    ];
  } finally {
    await client.connection.close();
  }
}

export async function showSchedule(settings: CairnSettings): Promise<string[]> {
  const client = await temporalClient(settings);
  try {
    const schedule = await describeDailyRetrainSchedule(client, settings);
    if (schedule === undefined) return ["no daily retrain schedule: 'cairn schedule apply' creates it"];
    return [
      `schedule ${schedule.scheduleId}: next runs ${schedule.nextRuns
        .slice(0, 3)
        .map((d) => d.toISOString())
        .join(', ')}`,
      `  ${JSON.stringify(schedule.input.config)}`,
    ];
  } finally {
    await client.connection.close();
  }
}

/** The Temporal schedules declared in temporal.config.ts, created or brought up to date. */
import { type Client, ScheduleAlreadyRunning, type ScheduleOptions } from '@temporalio/client';
import { temporalConfig } from '../../temporal.config';
import type { RetrainInput } from '../../workflows/retrain';
import type { CairnSettings } from '../config/environment';

export const dailyRetrainScheduleId = (settings: CairnSettings) =>
  `${settings.prefix}${temporalConfig.schedules.dailyRetrain.scheduleId}`;

export function retrainInput(settings: CairnSettings, config: unknown = {}): RetrainInput {
  return { config, alias: settings.itemsAlias };
}

export async function ensureDailyRetrainSchedule(client: Client, settings: CairnSettings): Promise<string> {
  const scheduleId = dailyRetrainScheduleId(settings);
  const options = {
    scheduleId,
    spec: { cronExpressions: [...temporalConfig.schedules.dailyRetrain.cronExpressions] },
    action: {
      type: 'startWorkflow',
      workflowType: 'retrain',
      workflowId: `${settings.prefix}${temporalConfig.workflowIds.retrain}-scheduled`,
      taskQueue: settings.pipelineTaskQueue,
      args: [retrainInput(settings)],
    },
    // A retrain still running when the next is due finishes first; the next one is skipped.
    policies: { overlap: 'SKIP', catchupWindow: '1 hour' },
  } satisfies ScheduleOptions;
  try {
    await client.schedule.create(options);
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await client.schedule.getHandle(scheduleId).update((previous) => ({
      ...previous,
      spec: options.spec,
      action: options.action,
      policies: options.policies,
    }));
  }
  return scheduleId;
}

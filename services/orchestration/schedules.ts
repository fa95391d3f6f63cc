/**
 * The daily retrain schedule declared in temporal.config.ts. Its training config is explicit:
 * the one it was last applied with, carried in its action's arguments, so what the daily run
 * trains is whatever `cairn schedule apply` was last given, never a default frozen by accident.
 */
import {
  type Client,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  type ScheduleOptions,
} from '@temporalio/client';
import { temporalConfig } from '../../temporal.config';
import type { RetrainInput } from '../../workflows/retrain';
import type { CairnSettings } from '../config/environment';
import type { TrainingConfig } from '../training/config';

export const dailyRetrainScheduleId = (settings: CairnSettings) =>
  `${settings.prefix}${temporalConfig.schedules.dailyRetrain.scheduleId}`;

export function retrainInput(settings: CairnSettings, config: unknown = {}): RetrainInput {
  return { config, alias: settings.itemsAlias };
}

export interface AppliedSchedule {
  scheduleId: string;
  cronExpressions: string[];
  /** The retrain input each scheduled run starts with. */
  input: RetrainInput;
}

export interface ScheduleState {
  scheduleId: string;
  input: RetrainInput;
  nextRuns: Date[];
}

/** Creates the schedule, or brings an existing one up to date, with this training config. */
export async function applyDailyRetrainSchedule(
  client: Client,
  settings: CairnSettings,
  config: TrainingConfig,
): Promise<AppliedSchedule> {
  const scheduleId = dailyRetrainScheduleId(settings);
  const cronExpressions = [...temporalConfig.schedules.dailyRetrain.cronExpressions];
  const input = retrainInput(settings, config);
  const options = {
    scheduleId,
    spec: { cronExpressions },
    action: {
      type: 'startWorkflow',
      workflowType: 'retrain',
      workflowId: `${settings.prefix}${temporalConfig.workflowIds.retrain}-scheduled`,
      taskQueue: settings.pipelineTaskQueue,
      args: [input],
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
  return { scheduleId, cronExpressions, input };
}

/** The schedule as the server has it, or undefined when it was never applied. */
export async function describeDailyRetrainSchedule(
  client: Client,
  settings: CairnSettings,
): Promise<ScheduleState | undefined> {
  const scheduleId = dailyRetrainScheduleId(settings);
  try {
    const description = await client.schedule.getHandle(scheduleId).describe();
    const action = description.action;
    if (action.type !== 'startWorkflow') throw new Error(`schedule ${scheduleId} does not start a workflow`);
    return {
      scheduleId,
      input: action.args?.[0] as RetrainInput,
      nextRuns: description.info.nextActionTimes,
    };
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) return undefined;
    throw error;
  }
}

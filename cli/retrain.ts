/**
 * `cairn retrain`: starts one retrain now and shows its progress, phase by phase, then the gate's
 * decision and what serving switched to. It leaves the daily schedule alone: that is
 * `cairn schedule apply`'s, with the config given there.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CairnSettings } from '../services/config/environment';
import { describeDailyRetrainSchedule, retrainInput } from '../services/orchestration/schedules';
import { temporalClient } from '../services/orchestration/temporal';
import { readTrainingConfigFile } from '../services/training/config';
import { temporalConfig } from '../temporal.config';
import type { RetrainPhase, RetrainResult } from '../workflows/retrain';
import { runPipelineWorker } from './worker';

export interface RetrainOptions {
  configFile?: string;
  inProcess: boolean;
}

export async function runRetrain(settings: CairnSettings, options: RetrainOptions): Promise<RetrainResult> {
  // Validated here too, so a bad file is reported, with its name, before anything starts.
  const config = options.configFile === undefined ? {} : await readTrainingConfigFile(options.configFile);
  const client = await temporalClient(settings);
  try {
    const schedule = await describeDailyRetrainSchedule(client, settings);
    console.log(
      schedule === undefined
        ? "no daily retrain is scheduled: 'cairn schedule apply [--config FILE]' schedules one"
        : `the daily retrain ${schedule.scheduleId} is scheduled separately ('cairn schedule show')`,
    );
    const handle = await client.workflow.start('retrain', {
      taskQueue: settings.pipelineTaskQueue,
      workflowId: `${settings.prefix}${temporalConfig.workflowIds.retrain}-${new Date().toISOString().replace(/[:.]/g, '-')}`,
      args: [retrainInput(settings, config)],
    });
    console.log(`workflow ${handle.workflowId} started`);
    const started = Date.now();
    const watch = async (): Promise<RetrainResult> => {
      const result = handle.result() as Promise<RetrainResult>;
      let shown: RetrainPhase | undefined;
      let finished = false;
      const finish = () => {
        finished = true;
      };
      result.then(finish, finish);
      while (!finished) {
        const phase = await handle.query<RetrainPhase>('phase').catch(() => undefined);
        if (phase !== undefined && phase !== shown) {
          console.log(`  [${((Date.now() - started) / 1000).toFixed(1)} s] ${phase}`);
          shown = phase;
        }
        await Promise.race([result.catch(() => undefined), sleep(500)]);
      }
      return result;
    };
    return options.inProcess
      ? ((await runPipelineWorker(settings, watch())) as RetrainResult)
      : await watch();
  } finally {
    await client.connection.close();
  }
}

export function describeRetrain(result: RetrainResult): string[] {
  const { release, decision, backfill } = result;
  const lines = [
    `snapshot ${result.snapshot}: release ${release.version} (${release.alreadyPublished ? 'already published, not retrained' : `fitted in ${release.fitSeconds.toFixed(1)} s`}), holdout NDCG@10 ${release.holdout.ndcgAt10.toFixed(4)}`,
    `gate: ${decision.promote ? 'PROMOTE' : 'REFUSE'}: ${decision.reason}`,
  ];
  if (backfill !== undefined)
    lines.push(
      `backfill: ${backfill.documents} vectors in ${backfill.index}, recall@100 ${backfill.recallAt100.toFixed(3)} on ${backfill.sampledQueries} queries; alias moved${backfill.deletedIndexes.length > 0 ? `, deleted ${backfill.deletedIndexes.join(', ')}` : ''}`,
    );
  return lines;
}

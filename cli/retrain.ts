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
import { type RecordedRelease, sameLog } from '../services/training/release-lineage';
import { temporalConfig } from '../temporal.config';
import type { Reproduction, RetrainInput, RetrainPhase, RetrainResult } from '../workflows/retrain';
import { runPipelineWorker } from './worker';

export interface RetrainOptions {
  configFile?: string;
  inProcess: boolean;
}

/** A time as `--as-of` takes it: ISO 8601 (a date alone is midnight UTC), or an error that says so. */
export function parseAsOf(value: string): Date {
  const time = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time.getTime()))
    throw new Error(`--as-of expects an ISO 8601 time such as 2026-11-30T06:00:00Z, got '${value}'`);
  return time;
}

// Validated here too, so a bad file is reported, with its name, before anything starts.
const configOf = async (file?: string): Promise<unknown> =>
  file === undefined ? {} : await readTrainingConfigFile(file);

export async function runRetrain(settings: CairnSettings, options: RetrainOptions): Promise<RetrainResult> {
  const input = retrainInput(settings, await configOf(options.configFile));
  return (await runRetrainWorkflow(settings, input, options.inProcess, 'retrain')) as RetrainResult;
}

/** `--as-of`: without a config file, with the config recorded in the release of that time. */
export async function runReproduction(
  settings: CairnSettings,
  options: RetrainOptions & { asOf: Date },
): Promise<Reproduction> {
  const input: RetrainInput = {
    ...retrainInput(settings, await configOf(options.configFile)),
    asOf: {
      time: options.asOf.toISOString(),
      config: options.configFile === undefined ? 'recorded' : 'given',
    },
  };
  return (await runRetrainWorkflow(settings, input, options.inProcess, 'reproduction')) as Reproduction;
}

async function runRetrainWorkflow(
  settings: CairnSettings,
  input: RetrainInput,
  inProcess: boolean,
  what: 'retrain' | 'reproduction',
): Promise<RetrainResult | Reproduction> {
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
      workflowId: `${settings.prefix}${temporalConfig.workflowIds.retrain}-${what === 'reproduction' ? 'as-of-' : ''}${new Date().toISOString().replace(/[:.]/g, '-')}`,
      args: [input],
    });
    console.log(`workflow ${handle.workflowId} started`);
    const started = Date.now();
    const watch = async (): Promise<RetrainResult | Reproduction> => {
      const result = handle.result() as Promise<RetrainResult | Reproduction>;
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
    return inProcess
      ? ((await runPipelineWorker(settings, watch())) as RetrainResult | Reproduction)
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
  if (release.ranker !== undefined) lines.push(`ranker: ${release.ranker.reason}`);
  if (release.twoTower !== undefined)
    lines.push(
      `two-tower: ${release.twoTower.reason}${release.carried?.twoTower === undefined ? '' : `; ${release.carried.twoTower.reason}`}`,
    );
  if (backfill !== undefined)
    lines.push(
      `backfill: ${backfill.documents} vectors in ${backfill.index}, recall@100 ${backfill.recallAt100.toFixed(3)} on ${backfill.sampledQueries} queries; alias moved${backfill.deletedIndexes.length > 0 ? `, deleted ${backfill.deletedIndexes.join(', ')}` : ''}`,
    );
  return lines;
}

export function describeReproduction(result: Reproduction): string[] {
  const { snapshot, release, recorded } = result;
  const prefix = Object.entries(snapshot.log)
    .flatMap(([topic, partitions]) =>
      Object.entries(partitions).map(([p, offset]) => `${topic}/${p} < ${offset}`),
    )
    .join(', ');
  const lines = [
    `the event log as of ${result.asOf}: ${prefix || 'empty'}; ${snapshot.interactions} interactions, ${result.rejected} events refused`,
    `snapshot ${snapshot.id}: release ${release.version} (${release.alreadyPublished ? 'already published' : `fitted in ${release.fitSeconds.toFixed(1)} s, published`}; not gated, not promoted), config ${result.configFrom === 'recorded' ? `recorded in ${recorded?.version}` : 'given'}`,
  ];
  if (recorded === undefined)
    lines.push(`no release was trained on a snapshot taken by ${result.asOf}: nothing to compare`);
  else
    lines.push(
      result.reproduces === true
        ? `REPRODUCED: ${recorded.version}, trained on snapshot ${recorded.snapshot} taken at ${recorded.lineage.takenAt}`
        : `DIFFERENT from ${recorded.version} (snapshot ${recorded.snapshot} taken at ${recorded.lineage.takenAt}): ${whyDifferent(result, recorded)}`,
    );
  return lines;
}

function whyDifferent(result: Reproduction, recorded: RecordedRelease): string {
  if (!sameLog(result.snapshot.log, recorded.lineage.log))
    return `the log before ${result.asOf} is not the prefix that snapshot held, ${JSON.stringify(recorded.lineage.log)} (a store lagging the log, or one that refused events a rebuild accepts)`;
  if (result.snapshot.id !== recorded.snapshot)
    return 'the same log prefix made a different store (events judged differently: an unknown user or item, a future timestamp)';
  return result.configFrom === 'given' ? 'trained with the given config' : 'another release format';
}

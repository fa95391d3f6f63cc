import {
  defineQuery,
  executeChild,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { LifecycleActivities } from '../activities/lifecycle';
import type { GateDecision, RetrainActivities, TrainedRelease } from '../activities/retrain';
import { retrievalFamily } from '../services/training/families';
import { temporalConfig } from '../temporal.config';
import { type BackfillResult, embeddingBackfill } from './embedding-backfill';

const { snapshotInteractions, promoteRelease } = proxyActivities<RetrainActivities>({
  startToCloseTimeout: temporalConfig.timeouts.ioActivity,
  retry: temporalConfig.retry.io,
});
const { announceChampion } = proxyActivities<LifecycleActivities>({
  startToCloseTimeout: temporalConfig.timeouts.ioActivity,
  heartbeatTimeout: temporalConfig.timeouts.heartbeat,
  retry: temporalConfig.retry.io,
});
const { trainRelease, judgeChallenger } = proxyActivities<RetrainActivities>({
  startToCloseTimeout: temporalConfig.timeouts.training,
  heartbeatTimeout: temporalConfig.timeouts.heartbeat,
  retry: temporalConfig.retry.io,
});

export interface RetrainInput {
  /** Training config (validated by the activities); empty for the defaults. */
  config: unknown;
  /** The serving alias of the item-vector index. */
  alias: string;
}

export interface RetrainResult {
  snapshot: string;
  release: TrainedRelease;
  decision: GateDecision;
  backfill?: BackfillResult;
}

export type RetrainPhase = 'snapshot' | 'train' | 'gate' | 'backfill' | 'promote' | 'done';
export const retrainPhase = defineQuery<RetrainPhase>('phase');

/**
 * The daily retrain: snapshot the store, train, judge the challenger against the champion,
 * and only for a challenger that is not worse: backfill its vectors into a new index, swap the
 * alias, and make it the champion. The gate's decision is kept in the workflow's memo.
 */
export async function retrain(input: RetrainInput): Promise<RetrainResult> {
  let phase: RetrainPhase = 'snapshot';
  setHandler(retrainPhase, () => phase);
  const snapshot = await snapshotInteractions();
  phase = 'train';
  const release = await trainRelease({ snapshot: snapshot.id, config: input.config });
  phase = 'gate';
  const decision = await judgeChallenger({
    snapshot: snapshot.id,
    challenger: release,
    config: input.config,
  });
  upsertMemo({ gate: decision });
  if (!decision.promote) {
    phase = 'done';
    return { snapshot: snapshot.id, release, decision };
  }
  phase = 'backfill';
  const backfill = await executeChild(embeddingBackfill, {
    workflowId: `${workflowInfo().workflowId}-backfill`,
    args: [
      {
        family: retrievalFamily,
        version: release.version,
        alias: input.alias,
        batchSize: temporalConfig.backfill.batchSize,
        batchesPerRun: temporalConfig.backfill.batchesPerRun,
        keep: temporalConfig.backfill.keepVersions,
        sample: temporalConfig.backfill.recallSampleQueries,
      },
    ],
  });
  phase = 'promote';
  await promoteRelease({ version: release.version });
  // Items created since the snapshot are not in the new index; their lifecycles put them there.
  if (patched('announce-champion-to-lifecycles')) await announceChampion({ version: release.version });
  phase = 'done';
  return { snapshot: snapshot.id, release, decision, backfill };
}

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
import type { LogPrefixSnapshot, ReproductionActivities } from '../activities/reproduction';
import type { GateDecision, RetrainActivities, TrainedRelease } from '../activities/retrain';
import { retrievalFamily } from '../services/training/families';
import { temporalConfig } from '../temporal.config';
import { type BackfillResult, embeddingBackfill } from './embedding-backfill';

const { snapshotInteractions, promoteRelease } = proxyActivities<RetrainActivities>({
  startToCloseTimeout: temporalConfig.timeouts.ioActivity,
  retry: temporalConfig.retry.io,
});
const { snapshotLogAsOf } = proxyActivities<ReproductionActivities>({
  startToCloseTimeout: temporalConfig.timeouts.training,
  heartbeatTimeout: temporalConfig.timeouts.heartbeat,
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
  /**
   * Reproduce instead: train on the event log as it stood at `time` (ISO 8601), with the config
   * recorded in the release of that time (`recorded`) or with `config` (`given`).
   */
  asOf?: { time: string; config: 'recorded' | 'given' };
}

export interface RetrainResult {
  snapshot: string;
  release: TrainedRelease;
  decision: GateDecision;
  backfill?: BackfillResult;
}

/**
 * What `--as-of` made: the release trained on the log prefix, published (a version is a content
 * hash, so reproducing an existing one adds nothing) but neither gated, backfilled nor promoted.
 */
export interface Reproduction extends LogPrefixSnapshot {
  asOf: string;
  configFrom: 'recorded' | 'given';
  release: TrainedRelease;
  /** The release has the version of the one recorded for that time. */
  reproduces?: boolean;
}

export type RetrainPhase = 'snapshot' | 'train' | 'gate' | 'backfill' | 'promote' | 'done';
export const retrainPhase = defineQuery<RetrainPhase>('phase');

/**
 * The daily retrain: snapshot the store, train, judge the challenger against the champion,
 * and only for a challenger that is not worse: backfill its vectors into a new index, swap the
 * alias, and make it the champion. The gate's decision is kept in the workflow's memo.
 * With `asOf`, a reproduction of a past day's release from the event log (see Reproduction).
 */
export async function retrain(input: RetrainInput): Promise<RetrainResult | Reproduction> {
  let phase: RetrainPhase = 'snapshot';
  setHandler(retrainPhase, () => phase);
  if (input.asOf !== undefined && patched('retrain-as-of')) {
    const asOf = input.asOf;
    const prefix = await snapshotLogAsOf({ asOf: asOf.time });
    phase = 'train';
    const configFrom = asOf.config === 'recorded' && prefix.recorded !== undefined ? 'recorded' : 'given';
    const release = await trainRelease({
      snapshot: prefix.snapshot.id,
      config: configFrom === 'recorded' ? prefix.recorded?.config : input.config,
    });
    phase = 'done';
    const reproduces = prefix.recorded && prefix.recorded.version === release.version;
    return { ...prefix, asOf: asOf.time, configFrom, release, reproduces };
  }
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
        mergeSegments: temporalConfig.backfill.mergeSegments,
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

/**
 * Activities of the daily retrain: snapshot, train, judge, publish, promote. Training runs on a
 * thread of its own, so heartbeats keep flowing while it works; the heartbeats are also how an
 * activity learns it was cancelled, and a cancelled activity terminates its training thread.
 * Failures that a retry would only repeat are non-retryable, with a type from temporal.config.ts.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Context, heartbeat } from '@temporalio/activity';
import { runInThread, ThreadTaskError } from '../services/concurrency/threads';
import { permanentFailure } from '../services/orchestration/failures';
import type { ModelRegistry } from '../services/registry/model-registry';
import type { HoldoutScore } from '../services/training/candidate-training';
import { type CarriedFamilies, carriedFromChampion } from '../services/training/carried-families';
import { parseTrainingConfig, type TrainingConfig, TrainingConfigError } from '../services/training/config';
import { retrievalFamily } from '../services/training/families';
import { type GateFigures, gateVerdict } from '../services/training/gate';
import { type RankerGate, servedPipelineNdcg } from '../services/training/release-ranker';
import {
  MissingStoreError,
  pruneSnapshots,
  type Snapshot,
  snapshotLineage,
  takeSnapshot,
} from '../services/training/snapshot';
import type { TrainedReleaseFiles, TrainingTask } from '../services/training/training-thread';
import type { TwoTowerSpec } from '../services/training/two-tower-release';
import { temporalConfig } from '../temporal.config';

export interface RetrainActivityDeps {
  registry: ModelRegistry;
  storeDir: string;
  snapshotsDir: string;
  /** Snapshots kept besides those releases reference. */
  snapshotsKeep: number;
}

export interface TrainedRelease {
  version: string;
  snapshot: string;
  holdout: HoldoutScore;
  fitSeconds: number;
  alreadyPublished: boolean;
  /** The ranker's gate: whether the pipeline with it beat the generators' order on the holdout. */
  ranker?: { won: boolean; reason: string };
  /** NDCG@10 of the served pipeline on the temporal holdout (`servedPipelineNdcg`), where a ranker was trained. */
  pipelineNdcgAt10?: number;
  /** The two-tower gate: whether it beat cohort popularity for users held out of training. */
  twoTower?: { won: boolean; reason: string };
  /** Families whose champion's version serves with this release, theirs having lost or failed. */
  carried?: CarriedFamilies;
}

export interface GateDecision {
  promote: boolean;
  reason: string;
  /** Retrieval NDCG@10 on the stratified holdout. */
  challenger: { version: string; ndcgAt10: number };
  champion?: { version: string; ndcgAt10: number };
  /** Both figures the gate compared (`services/training/gate.ts`), when there was a champion. */
  figures?: GateFigures;
  tolerance: number;
  /** The challenger's other families, so the workflow's memo holds each model's figures. */
  families: Pick<TrainedRelease, 'ranker' | 'twoTower' | 'carried'>;
}

/** Bumped when a release's artifacts change, so the same snapshot and config make a new release. */
const releaseFormat = 4;

/** A version names exactly what was trained: the snapshot's content, the config and the format. */
export function releaseVersion(snapshotId: string, config: TrainingConfig): string {
  const digest = createHash('sha256')
    .update(`${snapshotId}\n${JSON.stringify(config)}\nformat ${releaseFormat}`)
    .digest('hex');
  return `${snapshotId.slice(0, 8)}-${digest.slice(0, 8)}`;
}

/** A config that fails validation fails every attempt the same way. */
function validConfig(input: unknown): TrainingConfig {
  try {
    return parseTrainingConfig(input);
  } catch (error) {
    if (error instanceof TrainingConfigError)
      throw permanentFailure(temporalConfig.failureTypes.trainingConfig, error);
    throw error;
  }
}

/** Heartbeats every 2 s until `work` settles. */
async function heartbeating<T>(work: () => Promise<T>): Promise<T> {
  const beat = setInterval(() => heartbeat(), 2_000);
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}

/**
 * Runs a training task on its own thread, heartbeating until it settles. Cancellation (asked
 * for, a heartbeat time-out, worker shutdown) terminates the thread with the threads it started.
 */
function trainInThread<T>(task: TrainingTask): Promise<T> {
  return heartbeating(async () => {
    try {
      return await runInThread<T>(
        join(__dirname, '../services/training/training-thread'),
        task,
        Context.current().cancellationSignal,
      );
    } catch (error) {
      // The snapshot is frozen and training is seeded: what the training code threw, it would throw again.
      if (error instanceof ThreadTaskError)
        throw permanentFailure(temporalConfig.failureTypes.training, error);
      throw error;
    }
  });
}

export function createRetrainActivities({
  registry,
  storeDir,
  snapshotsDir,
  snapshotsKeep,
}: RetrainActivityDeps) {
  const threads = availableParallelism();
  const snapshotDir = (snapshot: string) => join(snapshotsDir, snapshot);

  return {
    /** Also deletes the snapshots nothing needs any more, so they do not pile up day after day. */
    async snapshotInteractions(): Promise<Snapshot> {
      let snapshot: Snapshot;
      try {
        snapshot = await takeSnapshot(storeDir, snapshotsDir);
      } catch (error) {
        if (error instanceof MissingStoreError)
          throw permanentFailure(temporalConfig.failureTypes.emptyStore, error);
        throw error;
      }
      const releases = await registry.releases(retrievalFamily);
      const referenced = new Set(releases.map((r) => (r.metadata as { snapshot?: string }).snapshot ?? ''));
      await pruneSnapshots(snapshotsDir, referenced.add(snapshot.id), snapshotsKeep);
      if (snapshot.interactions === 0)
        throw permanentFailure(
          temporalConfig.failureTypes.emptyStore,
          `the interaction store in ${storeDir} is empty: nothing to train on`,
        );
      return snapshot;
    },

    /** Trains and publishes a release, or finds the one this snapshot and config already made. */
    async trainRelease(input: { snapshot: string; config: unknown }): Promise<TrainedRelease> {
      const config = validConfig(input.config);
      const version = releaseVersion(input.snapshot, config);
      const existing = await registry.release(retrievalFamily, version);
      if (existing !== undefined) {
        const { holdout, fitSeconds, ranker, twoTower, carried } = existing.metadata as {
          holdout: HoldoutScore;
          fitSeconds: number;
          ranker?: RankerGate;
          twoTower?: TwoTowerSpec;
          carried?: CarriedFamilies;
        };
        return {
          version,
          snapshot: input.snapshot,
          holdout,
          fitSeconds,
          alreadyPublished: true,
          ranker: ranker && { won: ranker.won, reason: ranker.reason },
          pipelineNdcgAt10: ranker && servedPipelineNdcg(ranker),
          twoTower: twoTower && { won: twoTower.won, reason: twoTower.reason },
          carried,
        };
      }
      const dir = snapshotDir(input.snapshot);
      const holdout = await trainInThread<HoldoutScore>({
        task: 'holdout',
        snapshotDir: dir,
        ials: config.ials,
        holdoutSeed: config.holdoutSeed,
        threads,
      });
      const trained = await trainInThread<TrainedReleaseFiles>({
        task: 'retrieval',
        snapshotDir: dir,
        ials: config.ials,
        threads,
      });
      const ranker = await trainInThread<{ spec: RankerGate; files: Record<string, Uint8Array> }>({
        task: 'ranker',
        snapshotDir: dir,
        ials: config.ials,
        holdoutSeed: config.holdoutSeed,
        threads,
      });
      const twoTower = await trainInThread<{ spec: TwoTowerSpec; files: Record<string, Uint8Array> }>({
        task: 'two-tower',
        snapshotDir: dir,
        holdoutSeed: config.holdoutSeed,
        threads,
      });
      const files = { ...ranker.files, ...twoTower.files, ...trained.files };
      const carried = carriedFromChampion(
        { twoTower: twoTower.spec },
        await registry.champion(retrievalFamily),
      );
      // A 10M-event release is ~1.3 GB (the two-tower files 812 MB of it): storing it outlasted
      // the heartbeat time-out, and the retried activity trained everything again.
      const lineage = await snapshotLineage(dir);
      await heartbeating(() =>
        registry.publish(retrievalFamily, version, files, {
          dims: trained.dims,
          similarity: trained.similarity,
          snapshot: input.snapshot,
          lineage,
          config,
          holdout,
          fitSeconds: trained.fitSeconds,
          ranker: ranker.spec,
          twoTower: twoTower.spec,
          carried,
        }),
      );
      return {
        version,
        snapshot: input.snapshot,
        holdout,
        fitSeconds: trained.fitSeconds,
        alreadyPublished: false,
        ranker: { won: ranker.spec.won, reason: ranker.spec.reason },
        pipelineNdcgAt10: servedPipelineNdcg(ranker.spec),
        twoTower: { won: twoTower.spec.won, reason: twoTower.spec.reason },
        carried,
      };
    },

    /**
     * Champion and challenger are measured on the same holdouts of the same snapshot: the
     * champion's recorded config is refitted there, so the comparison is like for like.
     */
    async judgeChallenger(input: {
      snapshot: string;
      challenger: TrainedRelease;
      config: unknown;
    }): Promise<GateDecision> {
      const config = validConfig(input.config);
      const { ranker, twoTower, carried } = input.challenger;
      const families = { ranker, twoTower, carried };
      const challenger = { version: input.challenger.version, ndcgAt10: input.challenger.holdout.ndcgAt10 };
      const tolerance = config.gateTolerance;
      const champion = await registry.champion(retrievalFamily);
      if (champion === undefined)
        return { promote: true, reason: 'no champion yet', challenger, tolerance, families };
      if (champion.version === challenger.version)
        return {
          promote: true,
          reason: 'the challenger is the champion',
          challenger,
          champion: challenger,
          tolerance,
          families,
        };
      const championConfig = validConfig((champion.metadata as { config: unknown }).config);
      // The champion's config is the challenger's: a refit would repeat the challenger's own fits,
      // a whole holdout fit and ranking at scale, and give the same figures.
      const sameConfig = isDeepStrictEqual(championConfig.ials, config.ials);
      const refit = { snapshotDir: snapshotDir(input.snapshot), ials: championConfig.ials, threads };
      const score = sameConfig
        ? input.challenger.holdout
        : await trainInThread<HoldoutScore>({ task: 'holdout', holdoutSeed: config.holdoutSeed, ...refit });
      const pipeline = input.challenger.pipelineNdcgAt10;
      const championPipeline =
        pipeline === undefined || sameConfig
          ? pipeline
          : servedPipelineNdcg(
              (
                await trainInThread<{ spec: RankerGate }>({
                  task: 'ranker',
                  holdoutSeed: config.holdoutSeed,
                  ...refit,
                })
              ).spec,
            );
      const figures: GateFigures = {
        retrieval: { protocol: 'stratified', challenger: challenger.ndcgAt10, champion: score.ndcgAt10 },
        ...(pipeline === undefined || championPipeline === undefined
          ? {}
          : { pipeline: { protocol: 'temporal', challenger: pipeline, champion: championPipeline } }),
      };
      return {
        ...gateVerdict(figures, tolerance),
        challenger,
        champion: { version: champion.version, ndcgAt10: score.ndcgAt10 },
        figures,
        tolerance,
        families,
      };
    },

    async promoteRelease(input: { version: string }): Promise<void> {
      await registry.promote(retrievalFamily, input.version);
    },
  };
}

export type RetrainActivities = ReturnType<typeof createRetrainActivities>;

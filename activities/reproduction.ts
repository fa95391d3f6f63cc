/**
 * The activity of `cairn retrain --as-of`: the snapshot a retrain would have taken at a past
 * time, rebuilt from the event log, beside the release that was trained on that day's snapshot.
 * The live store is not touched: the log prefix is projected into a store of its own.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { heartbeat } from '@temporalio/activity';
import type { Kafka } from 'kafkajs';
import type { TopicSet } from '../services/events/topics';
import { permanentFailure } from '../services/orchestration/failures';
import type { ModelRegistry } from '../services/registry/model-registry';
import { projectLogPrefix } from '../services/store/rebuild';
import { retrievalFamily } from '../services/training/families';
import { type RecordedRelease, releaseAsOf } from '../services/training/release-lineage';
import { type Snapshot, takeSnapshot } from '../services/training/snapshot';
import { temporalConfig } from '../temporal.config';

export interface ReproductionActivityDeps {
  kafka: Kafka;
  topics: TopicSet;
  /** Prefix of the short-lived consumer group that reads the log prefix. */
  groupPrefix: string;
  registry: ModelRegistry;
  snapshotsDir: string;
}

export interface LogPrefixSnapshot {
  snapshot: Snapshot;
  /** Events of the prefix the store refused (invalid, or naming an unknown user or item). */
  rejected: number;
  /** The release trained on the newest snapshot taken at or before that time, if any. */
  recorded?: RecordedRelease;
}

export function createReproductionActivities({
  kafka,
  topics,
  groupPrefix,
  registry,
  snapshotsDir,
}: ReproductionActivityDeps) {
  return {
    async snapshotLogAsOf(input: { asOf: string }): Promise<LogPrefixSnapshot> {
      const asOf = new Date(input.asOf);
      if (Number.isNaN(asOf.getTime()))
        throw permanentFailure(
          temporalConfig.failureTypes.trainingConfig,
          `as-of time '${input.asOf}' is not a date`,
        );
      const recorded = releaseAsOf(await registry.releases(retrievalFamily), asOf);
      // A dot name: snapshot pruning leaves it alone while it is being written.
      const dir = join(snapshotsDir, `.as-of-${randomUUID().slice(0, 8)}`);
      const beat = setInterval(() => heartbeat(), 2_000);
      try {
        const prefix = await projectLogPrefix(kafka, topics, dir, groupPrefix, asOf);
        if (prefix.interactions === 0)
          throw permanentFailure(
            temporalConfig.failureTypes.emptyStore,
            `the event log held no valid interaction before ${asOf.toISOString()}: nothing to train on`,
          );
        const snapshot = await takeSnapshot(dir, snapshotsDir, asOf);
        return { snapshot, rejected: prefix.rejected, recorded };
      } finally {
        clearInterval(beat);
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

export type ReproductionActivities = ReturnType<typeof createReproductionActivities>;

import { continueAsNew, defineQuery, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { BackfillActivities, IndexCheck, VectorRelease } from '../activities/backfill';
import { temporalConfig } from '../temporal.config';

const { prepareVectorIndex, writeVectorBatch, verifyVectorIndex, publishVectorIndex } =
  proxyActivities<BackfillActivities>({
    startToCloseTimeout: temporalConfig.timeouts.ioActivity,
    heartbeatTimeout: temporalConfig.timeouts.heartbeat,
    retry: temporalConfig.retry.io,
  });

const { mergeVectorIndex } = proxyActivities<BackfillActivities>({
  startToCloseTimeout: temporalConfig.timeouts.indexMerge,
  heartbeatTimeout: temporalConfig.timeouts.heartbeat,
  retry: temporalConfig.retry.io,
});

export interface BackfillInput extends VectorRelease {
  alias: string;
  batchSize: number;
  /** Batches per run before continuing as new, so a large catalog keeps the history small. */
  batchesPerRun: number;
  /** Kept versions of the index, the new one included. */
  keep: number;
  sample: number;
  /** Carried across continue-as-new. */
  progress?: { index: string; itemCount: number; cursor: number };
}

export interface BackfillResult extends IndexCheck {
  index: string;
  deletedIndexes: string[];
  /** Segments of the index after its merge (absent in runs from before the merge step). */
  segments?: number;
}

export const backfillProgress = defineQuery<{ written: number; total: number } | undefined>('progress');

/**
 * Writes a release's item vectors into a new versioned index, merges it into one segment, checks
 * it (exact count, recall), and only then moves the alias: serving never sees a half-written or
 * unmerged index.
 */
export async function embeddingBackfill(input: BackfillInput): Promise<BackfillResult> {
  const { index, itemCount } = input.progress ?? (await prepareVectorIndex(input));
  let cursor = input.progress?.cursor ?? 0;
  setHandler(backfillProgress, () => ({ written: cursor, total: itemCount }));
  for (let batches = 0; cursor < itemCount; batches++) {
    if (batches === input.batchesPerRun)
      return continueAsNew<typeof embeddingBackfill>({ ...input, progress: { index, itemCount, cursor } });
    cursor += await writeVectorBatch({ ...input, index, from: cursor, count: input.batchSize });
  }
  // Histories recorded before the merge step replay without it.
  const segments = patched('merge-vector-index') ? await mergeVectorIndex({ index }) : undefined;
  const check = await verifyVectorIndex({ ...input, index });
  const deletedIndexes = await publishVectorIndex({ alias: input.alias, index, keep: input.keep });
  return { ...check, index, deletedIndexes, segments };
}

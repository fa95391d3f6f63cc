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
  /**
   * Merge the index into one segment before the check, so a search walks one graph. Only where
   * asked (the retrain does, temporalConfig.backfill.mergeSegments): the merge of a large index
   * takes minutes (307 s for 1M 64-dim items on 2 cores with m 16, 18 min with m 32). Before
   * inner-product vectors were moved onto the unit sphere (catalog/vector-space.ts), a merged
   * graph also lost recall (1M synthetic items: 0.857 against 0.96 in 23 segments).
   */
  mergeSegments?: boolean;
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
 * Writes a release's item vectors into a new versioned index, merges it into one segment if
 * asked, checks it (exact count, recall), and only then moves the alias: serving never sees a
 * half-written index.
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
  const segments =
    input.mergeSegments === true && patched('merge-vector-index')
      ? await mergeVectorIndex({ index })
      : undefined;
  const check = await verifyVectorIndex({ ...input, index });
  const deletedIndexes = await publishVectorIndex({ alias: input.alias, index, keep: input.keep });
  return { ...check, index, deletedIndexes, segments };
}

/**
 * `cairn bench backfill`: the embedding backfill workflow on a synthetic catalog (clustered
 * 64-d vectors): documents/s, total time, index size, segments and merges, and recall@100 against
 * exact search.
 * Runs in a scratch namespace on the real servers and removes it afterwards.
 */

import { loadavg } from 'node:os';
import { runPipelineWorker } from '../cli/worker';
import { searchClient } from '../services/catalog/elasticsearch';
import { encodeItemVectors } from '../services/catalog/item-vectors';
import { natsConnection } from '../services/config/nats-connection';
import { scratchNamespace } from '../services/config/scratch-namespace';
import { syntheticItemId, syntheticItemVectors } from '../services/data/synthetic';
import { temporalClient } from '../services/orchestration/temporal';
import { openModelRegistry } from '../services/registry/model-registry';
import { temporalConfig } from '../temporal.config';
import type { BackfillResult } from '../workflows/embedding-backfill';

export interface BackfillBenchResult extends BackfillResult {
  items: number;
  dims: number;
  seconds: number;
  documentsPerSecond: number;
  indexBytes: number;
}

export async function benchBackfill(items: number, dims: number): Promise<BackfillBenchResult> {
  const settings = await scratchNamespace('bench');
  const search = searchClient(settings);
  const nats = await natsConnection(settings);
  try {
    const registry = await openModelRegistry(nats, settings.registryBucket);
    const vectors = syntheticItemVectors(items, dims, 11);
    await registry.publish(
      'bench',
      'v1',
      encodeItemVectors({
        ids: Array.from({ length: items }, (_, i) => syntheticItemId(i)),
        dims,
        similarity: 'cosine',
        vectors,
      }),
      {
        dims,
        similarity: 'cosine',
      },
    );
    const client = await temporalClient(settings);
    const startLoad = loadavg()[0];
    const started = performance.now();
    const result = (await runPipelineWorker(
      settings,
      client.workflow.execute('embeddingBackfill', {
        taskQueue: settings.pipelineTaskQueue,
        workflowId: `${settings.prefix}bench-backfill`,
        args: [
          {
            family: 'bench',
            version: 'v1',
            alias: settings.itemsAlias,
            batchSize: temporalConfig.backfill.batchSize,
            batchesPerRun: temporalConfig.backfill.batchesPerRun,
            keep: temporalConfig.backfill.keepVersions,
            sample: temporalConfig.backfill.recallSampleQueries,
          },
        ],
      }),
    )) as BackfillResult;
    const seconds = (performance.now() - started) / 1000;
    await client.connection.close();
    const endLoad = loadavg()[0];
    const stats = await search.indices.stats({ index: result.index, metric: ['store', 'merge'] });
    const segments = await search.cat.segments({ index: result.index, format: 'json', h: 'segment' });
    const merges = stats._all.total?.merges;
    // A kNN search walks one HNSW graph per segment, and each merge built its graph again; the
    // machine is shared, so the load average belongs beside the time.
    console.log(
      `${segments.length} segments, ${merges?.total ?? 0} merges (${((merges?.total_time_in_millis ?? 0) / 1000).toFixed(0)} s), ` +
        `load ${startLoad.toFixed(1)} → ${endLoad.toFixed(1)}`,
    );
    return {
      ...result,
      items,
      dims,
      seconds,
      documentsPerSecond: items / seconds,
      indexBytes: stats._all.total?.store?.size_in_bytes ?? 0,
    };
  } finally {
    await nats.close();
    await search.close();
    await settings.cleanup();
  }
}

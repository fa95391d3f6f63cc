import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBackfillActivities } from '../../activities/backfill';
import { runPipelineWorker } from '../../cli/worker';
import { searchClient } from '../../services/catalog/elasticsearch';
import { encodeItemVectors } from '../../services/catalog/item-vectors';
import { aliasTarget, writeVectors } from '../../services/catalog/vector-index';
import { exited, spawnCairn } from '../../services/config/cairn-process';
import { type ScratchSettings, scratchNamespace } from '../../services/config/scratch-namespace';
import { syntheticItemVectors } from '../../services/data/synthetic';
import { temporalClient } from '../../services/orchestration/temporal';
import { openModelRegistry } from '../../services/registry/model-registry';
import type { BackfillInput, BackfillResult } from '../../workflows/embedding-backfill';
import { waitFor } from '../support/wait';

async function publishRelease(
  settings: ScratchSettings,
  version: string,
  count: number,
  dims = 16,
): Promise<void> {
  const nats = await connect({ servers: settings.natsUrl });
  const registry = await openModelRegistry(nats, settings.registryBucket);
  const ids = Array.from({ length: count }, (_, i) => `item-${i}`);
  const vectors = syntheticItemVectors(count, dims, Number(version.replace(/\D/g, '')) || 1, 40);
  await registry.publish('items', version, encodeItemVectors({ ids, dims, similarity: 'cosine', vectors }), {
    dims,
    similarity: 'cosine',
  });
  await nats.close();
}

/** The server fails a backfill that outlives this, so awaiting its result cannot hang the test. */
const runDeadline = '10 minutes';

const backfillInput = (settings: ScratchSettings, version: string): BackfillInput => ({
  family: 'items',
  version,
  alias: settings.itemsAlias,
  batchSize: 500,
  batchesPerRun: 2,
  keep: 2,
  sample: 20,
});

async function backfill(settings: ScratchSettings, version: string): Promise<BackfillResult> {
  const client = await temporalClient(settings);
  try {
    return await client.workflow.execute('embeddingBackfill', {
      taskQueue: settings.pipelineTaskQueue,
      workflowExecutionTimeout: runDeadline,
      workflowId: `${settings.prefix}backfill-${version}`,
      args: [{ ...backfillInput(settings, version), mergeSegments: true }],
    });
  } finally {
    await client.connection.close();
  }
}

test('backfills verify count and recall, swap the alias atomically and keep two versions', async () => {
  const settings = await scratchNamespace();
  const search = searchClient(settings);
  try {
    const results: BackfillResult[] = [];
    for (const version of ['v1', 'v2', 'v3']) {
      await publishRelease(settings, version, 2_600);
      results.push((await runPipelineWorker(settings, backfill(settings, version))) as BackfillResult);
      assert.equal(await aliasTarget(search, settings.itemsAlias), results.at(-1)?.index);
    }
    for (const r of results) {
      assert.equal(r.documents, 2_600);
      assert.ok(r.recallAt100 >= 0.95, `recall@100 ${r.recallAt100}`);
      assert.equal(r.segments, 1, 'merged before the alias moves');
    }
    assert.deepEqual(results[2].deletedIndexes, [results[0].index]);
    const remaining = await search.cat.indices({
      index: `${settings.itemsAlias}-*`,
      format: 'json',
      h: 'index',
    });
    assert.deepEqual(remaining.map((i) => i.index).sort(), [results[1].index, results[2].index].sort());
    const { count } = await search.count({ index: settings.itemsAlias });
    assert.equal(count, 2_600, 'the alias serves one document per item');
  } finally {
    await search.close();
    await settings.cleanup();
  }
});

test('a worker killed mid-backfill resumes with exact counts and no duplicates', async () => {
  const settings = await scratchNamespace();
  const search = searchClient(settings);
  const startWorker = () => spawnCairn(settings, ['worker']);
  let worker = startWorker();
  const client = await temporalClient(settings);
  try {
    await publishRelease(settings, 'v1', 12_000);
    const handle = await client.workflow.start('embeddingBackfill', {
      taskQueue: settings.pipelineTaskQueue,
      workflowExecutionTimeout: runDeadline,
      workflowId: `${settings.prefix}backfill-crash`,
      args: [{ ...backfillInput(settings, 'v1'), batchSize: 2_000, batchesPerRun: 100 }],
    });
    const progress = await waitFor(
      async () => {
        const now = await handle
          .query<{ written: number; total: number } | undefined>('progress')
          .catch(() => undefined);
        return now !== undefined && now.written >= 2_000 && now;
      },
      { what: 'the backfill past its first batch', timeoutMs: 120_000 },
    );
    assert.ok(progress.written < progress.total, 'the kill lands mid-backfill');
    worker.kill('SIGKILL');
    await exited(worker);
    worker = startWorker();
    const result = (await handle.result()) as BackfillResult;
    assert.equal(result.documents, 12_000);
    const { count } = await search.count({ index: settings.itemsAlias });
    assert.equal(count, 12_000, 'one document per item: no duplicates, no gaps');
    const history = await handle.fetchHistory();
    const retried = (history.events ?? []).some(
      (e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1,
    );
    assert.ok(retried, 'the batch in flight at the kill was retried');
  } finally {
    worker.kill('SIGTERM');
    await client.connection.close();
    await search.close();
    await settings.cleanup();
  }
});

test('a backfill re-run into its index counts only the release items: lifecycle documents pass, a missing item fails', async () => {
  const settings = await scratchNamespace();
  const search = searchClient(settings);
  const nats = await connect({ servers: settings.natsUrl });
  try {
    await publishRelease(settings, 'v1', 600);
    const first = (await runPipelineWorker(settings, backfill(settings, 'v1'))) as BackfillResult;
    // What an item lifecycle does for an item created after the release: its vector, same index.
    await writeVectors(search, first.index, [
      { itemId: 'new-item', categories: [], status: 'active', vector: new Array(16).fill(0.25) },
    ]);
    const again = (await runPipelineWorker(settings, backfill(settings, 'v1'))) as BackfillResult;
    assert.equal(again.index, first.index, 'the same release re-runs into its own index');
    assert.equal(again.documents, 600);
    assert.equal((await search.count({ index: first.index })).count, 601, 'the lifecycle document stays');

    await search.delete({ index: first.index, id: 'item-7', refresh: true });
    const activities = createBackfillActivities({
      search,
      registry: await openModelRegistry(nats, settings.registryBucket),
      catalogIndex: settings.catalogIndex,
    });
    const error = await new MockActivityEnvironment()
      .run(activities.verifyVectorIndex, { family: 'items', version: 'v1', index: first.index, sample: 5 })
      .then(
        () => assert.fail('verification passed with a release item missing'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof ApplicationFailure, `an ApplicationFailure, not ${error}`);
    assert.equal(error.nonRetryable, true);
    assert.match(error.message, /599 of the release's 600 items/);
  } finally {
    await nats.close();
    await search.close();
    await settings.cleanup();
  }
});

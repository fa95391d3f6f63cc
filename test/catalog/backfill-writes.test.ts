import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Client } from '@elastic/elasticsearch';
import { connect } from '@nats-io/transport-node';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBackfillActivities, type IndexCheck, type PreparedIndex } from '../../activities/backfill';
import { searchClient } from '../../services/catalog/elasticsearch';
import { encodeItemVectors } from '../../services/catalog/item-vectors';
import { finishLoading } from '../../services/catalog/vector-index';
import { scratchNamespace } from '../../services/config/scratch-namespace';
import { syntheticItemVectors } from '../../services/data/synthetic';
import { openModelRegistry } from '../../services/registry/model-registry';

const release = { family: 'items', version: 'v1' };

/**
 * A scratch namespace with the release `ids`/`vectors` published and its index prepared, as the
 * backfill workflow leaves them before its first batch; `body` gets the activities and the index.
 */
async function withPreparedIndex(
  ids: string[],
  vectors: Float32Array,
  dims: number,
  similarity: 'cosine' | 'max_inner_product',
  body: (
    activities: ReturnType<typeof createBackfillActivities>,
    index: string,
    search: Client,
  ) => Promise<void>,
): Promise<void> {
  const settings = await scratchNamespace();
  const search = searchClient(settings);
  const nats = await connect({ servers: settings.natsUrl });
  try {
    const registry = await openModelRegistry(nats, settings.registryBucket);
    await registry.publish('items', 'v1', encodeItemVectors({ ids, dims, similarity, vectors }), {
      dims,
      similarity,
    });
    const activities = createBackfillActivities({ search, registry, catalogIndex: settings.catalogIndex });
    const { index } = (await new MockActivityEnvironment().run(activities.prepareVectorIndex, {
      ...release,
      alias: settings.itemsAlias,
    })) as PreparedIndex;
    await body(activities, index, search);
  } finally {
    await nats.close();
    await search.close();
    await settings.cleanup();
  }
}

test('a batch written by two bulk writers in flight writes its range exactly once and reports where it ended', async () => {
  const count = 2_700;
  const ids = Array.from({ length: count }, (_, i) => `item-${i}`);
  await withPreparedIndex(
    ids,
    syntheticItemVectors(count, 8, 3, 20),
    8,
    'cosine',
    async (activities, index, search) => {
      // 2,500 is two and a half bulk chunks, so both writers run and one ends on a short chunk.
      for (const [from, batch, expected] of [
        [0, 2_500, 2_500],
        [2_500, 2_500, 200],
      ] as const) {
        const environment = new MockActivityEnvironment();
        const beats: number[] = [];
        environment.on('heartbeat', (written: number) => beats.push(written));
        const written = await environment.run(activities.writeVectorBatch, {
          ...release,
          index,
          from,
          count: batch,
        });
        assert.equal(written, expected);
        assert.equal(Math.max(...beats), from + expected, 'the last heartbeat is the end of the range');
      }
      assert.equal(await finishLoading(search, index, ids), count);
      assert.equal((await search.count({ index })).count, count, 'no document written twice or missed');
    },
  );
});

test('the recall check queries only items with a vector: zero vectors tie with every item under inner product', async () => {
  const count = 6_000;
  const dims = 8;
  const ids = Array.from({ length: count }, (_, i) => `item-${i}`);
  const vectors = syntheticItemVectors(count, dims, 5, 20);
  // Every third item was never interacted with, as iALS leaves a share of a catalog.
  for (let row = 0; row < count; row += 3) vectors.fill(0, row * dims, (row + 1) * dims);
  await withPreparedIndex(ids, vectors, dims, 'max_inner_product', async (activities, index) => {
    await new MockActivityEnvironment().run(activities.writeVectorBatch, {
      ...release,
      index,
      from: 0,
      count,
    });
    const check = (await new MockActivityEnvironment().run(activities.verifyVectorIndex, {
      ...release,
      index,
      sample: 30,
    })) as IndexCheck;
    assert.equal(check.documents, count);
    assert.equal(check.sampledQueries, 30);
    assert.ok(check.recallAt100 >= 0.95, `recall@100 ${check.recallAt100}`);
  });
});

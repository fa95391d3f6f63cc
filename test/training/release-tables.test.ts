import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { scratchNamespace } from '../../services/config/scratch-namespace';
import { syntheticItems, syntheticUsers } from '../../services/data/synthetic';
import { embedContent, fitContentMap } from '../../services/lifecycle/content-embedding';
import { openModelRegistry } from '../../services/registry/model-registry';
import { buildHotState } from '../../services/serving/hot-state';
import { LiveCatalog } from '../../services/serving/live-catalog';
import { loadHotState, readRelease, releaseFiles } from '../../services/serving/release-loader';
import { contentMapFiles, readContentMap } from '../../services/training/content-map-artifact';
import { retrievalFamily } from '../../services/training/families';
import { rankerFiles } from '../../services/training/release-ranker';
import { buildServingTables } from '../../services/training/serving-tables';
import { retrainSyntheticStore } from '../support/synthetic-retrain';

test('serving tables: co-occurrence neighbours, cohorts keyed with ? for what is unknown, no map without content', () => {
  const tables = buildServingTables({
    items: {
      ids: ['p', 'q', 'r'],
      dims: 1,
      similarity: 'max_inner_product',
      vectors: Float32Array.of(1, 1, 1),
    },
    users: { ids: ['u', 'v', 'w'], seen: [[0, 1], [0, 1, 2], [2]] },
    demographics: new Map([
      ['u', { age: 30, gender: 'F', occupation: 'writer' }],
      ['v', { gender: 'M' }],
    ]),
    content: new Map(),
  });
  const neighbours = tables.neighbours ?? assert.fail('a small catalog gets a neighbour table');
  assert.deepEqual(neighbours[0][0], [1, 2], 'q shares both of p’s users, r one');
  assert.deepEqual(neighbours[2][0], [0, 1], 'a tie keeps index order');
  assert.ok(neighbours[0][1][0] > neighbours[0][1][1]);
  assert.deepEqual(Object.keys(tables.cohortPopularity).sort(), ['2|F|writer', '?|M|?']);
  assert.deepEqual(tables.cohortPopularity['?|M|?'].slice(0, 2), [0, 1]);
  assert.equal(tables.contentMap, undefined);
});

test('a retrain publishes the gated ranker, the neighbour table, cohort popularity and the content map, equal to what serving and lifecycles computed themselves', async () => {
  const settings = await scratchNamespace();
  const data = { seed: 5, itemCount: 300, userCount: 200, interactionCount: 8_000 };
  const nats = await connect({ servers: settings.natsUrl });
  try {
    const result = await retrainSyntheticStore(settings, data, 'tables');
    const registry = await openModelRegistry(nats, settings.registryBucket);
    const release = await registry.release(retrievalFamily, result.release.version);
    assert.ok(release !== undefined);
    const files = release.artifacts.map((a) => a.file);
    for (const file of [
      releaseFiles.neighbours,
      releaseFiles.cohortPopularity,
      ...Object.values(contentMapFiles),
    ])
      assert.ok(files.includes(file), `the release has ${file}`);

    assert.equal(typeof result.release.ranker?.won, 'boolean', 'the ranker gate is in the result');
    assert.deepEqual((release.metadata.ranker as { won: boolean }).won, result.release.ranker?.won);
    for (const file of Object.values(rankerFiles)) assert.ok(files.includes(file), `the release has ${file}`);

    const served = await loadHotState(registry, release, new LiveCatalog(), settings.itemsAlias);
    assert.equal(
      served.ranker !== undefined,
      result.release.ranker?.won,
      'serving loads the ranker only where it won',
    );
    await served.ranker?.release();

    const artifacts = await readRelease(registry, release);
    assert.equal(artifacts.neighbours?.length, artifacts.itemIds.length, 'one neighbour row per item');
    const catalog = new LiveCatalog();
    for (const event of syntheticUsers(data)) catalog.applyUser(event);
    const published = buildHotState(artifacts, catalog, 'index');
    const computed = buildHotState(
      { ...artifacts, neighbours: undefined, cohortPopularity: undefined },
      catalog,
      'index',
    );
    for (let item = 0; item < artifacts.itemIds.length; item++) {
      const a = published.neighbours.of(item);
      const b = computed.neighbours.of(item);
      assert.equal(a.items.length, b.items.length);
      // Scores are published to five digits, so only near-ties may change places.
      for (let n = 0; n < a.items.length; n++) assert.ok(Math.abs(a.scores[n] - b.scores[n]) < 1e-4);
    }
    assert.deepEqual(
      [...published.popularity.byCohort.keys()].sort(),
      [...computed.popularity.byCohort.keys()].sort(),
    );
    for (const [cohort, items] of computed.popularity.byCohort)
      assert.deepEqual(published.popularity.byCohort.get(cohort), items, `cohort ${cohort}`);

    const map = await readContentMap(registry, retrievalFamily, release.version);
    assert.ok(map !== undefined);
    const items = [...syntheticItems(data)];
    const content = new Map(items.map((i) => [i.itemId, { ...i, year: i.year ?? null }]));
    const fitted = fitContentMap(
      { ids: artifacts.itemIds, dims: artifacts.dims, vectors: artifacts.itemVectors },
      content,
    );
    assert.equal(map.fittedItems, fitted.fittedItems);
    for (const item of items.slice(0, 20)) {
      const a = embedContent(map, content.get(item.itemId)!);
      const b = embedContent(fitted, content.get(item.itemId)!);
      for (let d = 0; d < a.length; d++) assert.ok(Math.abs(a[d] - b[d]) < 1e-3 * (1 + Math.abs(b[d])));
    }
  } finally {
    await nats.close();
    await settings.cleanup();
  }
});

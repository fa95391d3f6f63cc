import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { scratchNamespace } from '../../services/config/scratch-namespace';
import type { ModelRegistry } from '../../services/registry/model-registry';
import { openModelRegistry } from '../../services/registry/model-registry';
import { LiveCatalog } from '../../services/serving/live-catalog';
import { loadHotState, releaseFiles } from '../../services/serving/release-loader';
import { rankerFiles } from '../../services/training/release-ranker';

const encoder = new TextEncoder();
const json = (value: unknown) => encoder.encode(JSON.stringify(value));
const floats = (...values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

/** A two-item, one-user release in the retrieval format, with whatever else a release format had. */
async function publishOld(
  registry: ModelRegistry,
  version: string,
  extraFiles: Record<string, Uint8Array>,
  metadata: Record<string, unknown>,
) {
  return registry.publish(
    'retrieval',
    version,
    {
      [releaseFiles.itemIds]: json(['i0', 'i1']),
      [releaseFiles.itemVectors]: floats(1, 0, 0, 1),
      [releaseFiles.userIds]: json(['u0']),
      [releaseFiles.userVectors]: floats(1, 0.5),
      [releaseFiles.seen]: json([[0]]),
      ...extraFiles,
    },
    { dims: 2, ...metadata },
  );
}

test('releases without a loadable ranker load and keep the generators order, saying why', async () => {
  const settings = await scratchNamespace();
  const nats = await connect({ servers: settings.natsUrl });
  try {
    const registry = await openModelRegistry(nats, settings.registryBucket);
    const wonSpec = { won: true, reason: 'won: ranker NDCG@10 0.2 vs generator order 0.1' };
    const releases = {
      // Published before releases carried a ranker: no ranker files, no ranker in the metadata.
      beforeRankers: await publishOld(registry, 'v1', {}, {}),
      // Metadata saying the ranker won, but none of its files.
      wonWithoutFiles: await publishOld(registry, 'v2', {}, { ranker: wonSpec }),
      // The first ranker format: one ONNX graph per head, before `ranker.onnx`.
      perHeadOnnx: await publishOld(
        registry,
        'v3',
        {
          [rankerFiles.spec]: json(wonSpec),
          'ranker-interaction.onnx': encoder.encode('old'),
          'ranker-rating.onnx': encoder.encode('old'),
          [rankerFiles.features]: encoder.encode('old'),
        },
        { ranker: wonSpec },
      ),
    };
    const reasons: Record<string, string | undefined> = {};
    for (const [name, release] of Object.entries(releases)) {
      const state = await loadHotState(registry, release, new LiveCatalog(), settings.itemsAlias);
      assert.equal(state.ranker, undefined, `${name}: no ranker`);
      assert.deepEqual(state.modelVersions, { retrieval: release.version }, `${name}: no ranker version`);
      assert.deepEqual(state.items.ids, ['i0', 'i1'], `${name}: the release's items are served`);
      reasons[name] = state.withoutRanker;
    }
    assert.deepEqual(reasons, {
      beforeRankers: 'the release carries no ranker',
      wonWithoutFiles: `an older release format without ${rankerFiles.model} and ${rankerFiles.features}`,
      perHeadOnnx: `an older release format without ${rankerFiles.model}`,
    });
  } finally {
    await nats.close();
    await settings.cleanup();
  }
});

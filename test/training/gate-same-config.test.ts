/** The gate refits the champion's config on the challenger's holdout only when that config differs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { createRetrainActivities } from '../../activities/retrain';
import { scratchNamespace } from '../../services/config/scratch-namespace';
import { openModelRegistry } from '../../services/registry/model-registry';
import { parseTrainingConfig } from '../../services/training/config';
import { retrievalFamily } from '../../services/training/families';

test("a champion with the challenger's config is judged by the challenger's own holdout and pipeline scores, with no refit", async () => {
  const settings = await scratchNamespace();
  const nats = await connect({ servers: settings.natsUrl });
  try {
    const registry = await openModelRegistry(nats, settings.registryBucket);
    const config = parseTrainingConfig({ ials: { factors: 8 } });
    await registry.publish(retrievalFamily, 'v-old', { 'x.bin': new Uint8Array([1]) }, { config });
    await registry.promote(retrievalFamily, 'v-old');
    const activities = createRetrainActivities({
      registry,
      storeDir: settings.storeDir,
      snapshotsDir: settings.snapshotsDir,
      snapshotsKeep: 2,
    });
    const holdout = { ndcgAt10: 0.25, recallAt10: 0.3, users: 40 };
    // No snapshot exists and this runs outside an activity: a refit could not even start.
    const decision = await activities.judgeChallenger({
      snapshot: 'no-such-snapshot',
      challenger: {
        version: 'v-new',
        snapshot: 'no-such-snapshot',
        holdout,
        fitSeconds: 1,
        alreadyPublished: false,
        pipelineNdcgAt10: 0.2,
        ranker: { won: true, reason: 'won' },
      },
      config: { ials: { factors: 8 } },
    });
    assert.deepEqual(decision.champion, { version: 'v-old', ndcgAt10: 0.25 });
    assert.deepEqual(
      decision.figures?.pipeline,
      { protocol: 'temporal', challenger: 0.2, champion: 0.2 },
      'the served pipeline is compared without a refit too',
    );
    assert.equal(decision.promote, true);
    assert.deepEqual(decision.families.ranker, { won: true, reason: 'won' }, 'the memo gets each family');
  } finally {
    await nats.close();
    await settings.cleanup();
  }
});

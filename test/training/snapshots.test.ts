/** Training snapshots do not pile up: the ones releases reference and the newest few are kept. */
import assert from 'node:assert/strict';
import { mkdir, readdir, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { createRetrainActivities } from '../../activities/retrain';
import { scratchNamespace } from '../../services/config/scratch-namespace';
import { openModelRegistry } from '../../services/registry/model-registry';
import { retrievalFamily } from '../../services/training/families';
import { fillSyntheticStore } from '../support/synthetic-store';

test('taking a snapshot deletes the old ones no release references, keeping the newest', async () => {
  const settings = await scratchNamespace();
  const nats = await connect({ servers: settings.natsUrl });
  try {
    await fillSyntheticStore(settings, { seed: 2, itemCount: 40, userCount: 30, interactionCount: 300 });
    // Snapshots of earlier days, oldest first.
    const old = ['day1', 'day2', 'day3', 'day4', 'day5'];
    for (const [day, id] of old.entries()) {
      await mkdir(join(settings.snapshotsDir, id));
      const taken = new Date(Date.UTC(2026, 0, day + 1));
      await utimes(join(settings.snapshotsDir, id), taken, taken);
    }
    const registry = await openModelRegistry(nats, settings.registryBucket);
    await registry.publish(retrievalFamily, 'v-day2', { 'x.bin': new Uint8Array([1]) }, { snapshot: 'day2' });
    const activities = createRetrainActivities({
      registry,
      storeDir: settings.storeDir,
      snapshotsDir: settings.snapshotsDir,
      snapshotsKeep: 2,
    });

    const snapshot = await activities.snapshotInteractions();
    assert.deepEqual(
      (await readdir(settings.snapshotsDir)).sort(),
      ['day2', 'day5', snapshot.id].sort(),
      'the new one and the newest old one (keep 2), and the one a release references',
    );

    // The same content again is the same snapshot, taken again: as new as a new one for pruning.
    const longAgo = new Date(Date.UTC(2025, 0, 1));
    await utimes(snapshot.dir, longAgo, longAgo);
    const again = await activities.snapshotInteractions();
    assert.equal(again.id, snapshot.id);
    assert.ok((await stat(again.dir)).mtimeMs > Date.UTC(2026, 0, 6), 'marked as just taken');
    assert.deepEqual((await readdir(settings.snapshotsDir)).sort(), ['day2', 'day5', snapshot.id].sort());
  } finally {
    await nats.close();
    await settings.cleanup();
  }
});

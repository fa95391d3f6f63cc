import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchAgreement } from '../../bench/online-offline';
import { scratchNamespace } from '../../services/config/scratch-namespace';
import { fillSyntheticStore } from '../support/synthetic-store';

test('the pipeline served through NATS scores within 2% of the offline pipeline evaluation of the same models', async () => {
  const settings = await scratchNamespace();
  try {
    await fillSyntheticStore(settings, { seed: 11, itemCount: 300, userCount: 200, interactionCount: 8_000 });
    const r = await benchAgreement(settings, () => {});
    assert.ok(r.users > 100, `${r.users} test users served`);
    assert.ok(r.offline.ranker > 0);
    assert.ok(
      Math.abs(r.relativeGap) <= 0.02,
      `online ${r.online} vs offline ${r.offline.ranker} (${r.differingUsers} users differ)`,
    );
  } finally {
    await settings.cleanup();
  }
});

/**
 * A replica whose champion read stalls (a JetStream read that never answers, seen in the soak at
 * load 25) must neither stop following promotions nor hang its drain: the old code kept one
 * load promise without a deadline, so no later release was ever loaded, and drain() waited on
 * it, so a cancelled serving attempt never freed its worker slot.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { searchClient } from '../../services/catalog/elasticsearch';
import { withDeadline } from '../../services/concurrency/deadline';
import type { ScratchSettings } from '../../services/config/scratch-namespace';
import { syntheticUserId } from '../../services/data/synthetic';
import { kafkaClient } from '../../services/events/kafka';
import { type ModelRegistry, openModelRegistry } from '../../services/registry/model-registry';
import { replicaAddresses, ServingReplica } from '../../services/serving/replica';
import { parseServingConfig } from '../../services/serving/serving-config';
import type { RetrainResult } from '../../workflows/retrain';
import { waitFor } from '../support/wait';
import { retrainNow, trainedNamespace } from './trained-namespace';

let settings: ScratchSettings;
let first: RetrainResult;
let nc: NatsConnection;

before(async () => {
  ({ settings, release: first } = await trainedNamespace('rrec'));
  nc = await connect({ servers: settings.natsUrl });
});

after(async () => {
  await nc?.close();
  await settings?.cleanup();
});

/** The real registry, except that champion reads never answer while `stalled` is set. */
function stallable(registry: ModelRegistry): { registry: ModelRegistry; stall(on: boolean): void } {
  let stalled = false;
  return {
    registry: {
      publish: (...args) => registry.publish(...args),
      release: (family, version) => registry.release(family, version),
      releases: (family) => registry.releases(family),
      artifact: (family, version, file) => registry.artifact(family, version, file),
      champion: (family) => (stalled ? new Promise(() => undefined) : registry.champion(family)),
      promote: (family, version) => registry.promote(family, version),
    },
    stall: (on) => {
      stalled = on;
    },
  };
}

test('a stalled champion read is given up after releaseLoadMs, the next promotion is served, and drain does not wait on a stalled read', async () => {
  const { registry, stall } = stallable(await openModelRegistry(nc, settings.registryBucket));
  const replica = await ServingReplica.start({
    nc,
    search: searchClient(settings),
    kafka: kafkaClient(settings, 'cairn-test-replica-recovery'),
    registry,
    config: parseServingConfig({ championPollMs: 200, releaseLoadMs: 1_000, deadlineMs: 5_000 }),
    ...replicaAddresses(settings),
    log: () => undefined,
  });
  try {
    assert.equal(replica.counters().release, first.release.version);
    stall(true);
    const second = await retrainNow(
      settings,
      { ials: { factors: 24, lambda: 5, alpha: 10, epochs: 6, seed: 2 }, gateTolerance: 1 },
      'second',
    );
    assert.equal(second.decision.promote, true, second.decision.reason);
    const reply = JSON.parse(
      (
        await nc.request(settings.recommendSubject, JSON.stringify({ userId: syntheticUserId(1) }), {
          timeout: 10_000,
        })
      ).string(),
    ) as { ok: boolean; modelVersion?: string };
    assert.ok(reply.ok, 'the replica answers from the release it holds while the read is stalled');
    assert.equal(reply.modelVersion, first.release.version);
    stall(false);
    await waitFor(() => replica.counters().release === second.release.version, {
      what: 'the replica to load the champion promoted while its read was stalled',
      timeoutMs: 30_000,
    });
    stall(true);
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    const counters = await withDeadline(replica.drain(), 15_000, 'drain waited on the stalled champion read');
    assert.equal(counters.internalErrors, 0);
  }
});

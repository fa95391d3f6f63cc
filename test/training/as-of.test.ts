import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { Kafka } from 'kafkajs';
import { runPipelineWorker } from '../../cli/worker';
import { type ScratchSettings, scratchNamespace } from '../../services/config/scratch-namespace';
import { kafkaClient } from '../../services/events/kafka';
import { logEnd, StoreProjector } from '../../services/events/store-projector';
import { eventStreams } from '../../services/events/topics';
import { retrainInput } from '../../services/orchestration/schedules';
import { temporalClient } from '../../services/orchestration/temporal';
import { type ModelRelease, openModelRegistry } from '../../services/registry/model-registry';
import { InteractionStore } from '../../services/store/interaction-store';
import { retrievalFamily } from '../../services/training/families';
import { releaseAsOf, sameLog } from '../../services/training/release-lineage';
import type { SnapshotLineage } from '../../services/training/snapshot';
import type { Reproduction, RetrainInput, RetrainResult } from '../../workflows/retrain';
import { produceEvents, syntheticLogEvents } from '../support/synthetic-log';
import { waitFor } from '../support/wait';

const data = { seed: 3, itemCount: 200, userCount: 150, interactionCount: 5_000 };
const good = { ials: { factors: 16, lambda: 5, alpha: 10, epochs: 6, seed: 1 } };
// Overfitted: NDCG@10 0.045 against the good config's 0.152 on the first day's interactions.
const worse = { ials: { factors: 64, lambda: 0.01, alpha: 100, epochs: 1, seed: 1 } };

async function run<T>(settings: ScratchSettings, input: RetrainInput, id: string): Promise<T> {
  const client = await temporalClient(settings);
  try {
    const execution = client.workflow.execute('retrain', {
      taskQueue: settings.pipelineTaskQueue,
      workflowId: `${settings.prefix}retrain-${id}`,
      // The server fails a run that takes longer, so awaiting the result has a deadline too.
      workflowExecutionTimeout: '10 minutes',
      args: [input],
    });
    return (await runPipelineWorker(settings, execution)) as T;
  } finally {
    await client.connection.close();
  }
}

/** Until the live store holds the whole log as it is now. */
async function caughtUp(kafka: Kafka, settings: ScratchSettings, projector: StoreProjector): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const end = await logEnd(admin, settings.topics, eventStreams);
  await admin.disconnect();
  await waitFor(() => projector.hasApplied(end), { what: 'the live store to catch up', timeoutMs: 120_000 });
}

test('retrain --as-of the time of a release rebuilds its snapshot from the log and reproduces its version', async () => {
  const settings = await scratchNamespace('asof', 2);
  const kafka = kafkaClient(settings, 'cairn-test');
  const live = await InteractionStore.open(settings.storeDir);
  const projector = new StoreProjector({
    kafka,
    store: live,
    topics: settings.topics,
    groupId: settings.consumerGroups.store,
  });
  const nats = await connect({ servers: settings.natsUrl });
  try {
    const registry = await openModelRegistry(nats, settings.registryBucket);
    const { users, items, interactions } = syntheticLogEvents(data);
    const firstDay = Math.floor(interactions.length * 0.7);
    await projector.start();
    await produceEvents(kafka, settings.topics.users, users);
    await produceEvents(kafka, settings.topics.catalog, items);
    await caughtUp(kafka, settings, projector);
    await produceEvents(kafka, settings.topics.interactions, interactions.slice(0, firstDay));
    await caughtUp(kafka, settings, projector);

    // A champion the day's releases lose to, so no retrain backfills the shared Elasticsearch:
    // what is reproduced is a release, whether or not it was promoted.
    await registry.publish(
      retrievalFamily,
      'champion',
      { 'config.json': new TextEncoder().encode('{}') },
      {
        config: good,
      },
    );
    await registry.promote(retrievalFamily, 'champion');

    const first = await run<RetrainResult>(settings, retrainInput(settings, worse), 'first');
    assert.equal(first.decision.promote, false);
    const recorded = await registry.release(retrievalFamily, first.release.version);
    const lineage = recorded?.metadata.lineage as SnapshotLineage;
    const checkpoint = JSON.parse(await readFile(join(settings.storeDir, 'checkpoint.json'), 'utf8'));
    assert.ok(
      sameLog(lineage.log, checkpoint.offsets),
      'the release records the log prefix its snapshot holds: the store checkpoint when it was taken',
    );
    assert.ok(Object.keys(lineage.log).length === 3, 'users, catalog and interactions');

    await produceEvents(kafka, settings.topics.interactions, interactions.slice(firstDay));
    await caughtUp(kafka, settings, projector);
    const liveChecksum = await live.checksum();

    const reproduced = await run<Reproduction>(
      settings,
      { ...retrainInput(settings), asOf: { time: lineage.takenAt, config: 'recorded' } },
      'as-of',
    );
    assert.equal(reproduced.release.version, first.release.version, "the release of that day's version");
    assert.equal(reproduced.snapshot.id, first.snapshot);
    assert.equal(reproduced.reproduces, true);
    assert.equal(reproduced.configFrom, 'recorded');
    assert.equal(reproduced.recorded?.version, first.release.version);
    assert.equal(reproduced.snapshot.interactions, firstDay);
    assert.ok(sameLog(reproduced.snapshot.log, lineage.log), 'the same log prefix');
    assert.equal(reproduced.rejected, 0);
    assert.equal(await live.checksum(), liveChecksum, 'the live store is untouched');
    assert.equal(live.counts().interactions, interactions.length);
    assert.equal(
      (await registry.champion(retrievalFamily))?.version,
      'champion',
      'the champion is untouched',
    );

    const today = await run<RetrainResult>(settings, retrainInput(settings, worse), 'today');
    assert.notEqual(today.snapshot, first.snapshot);
    assert.notEqual(today.release.version, first.release.version, 'the whole log makes another release');
  } finally {
    await projector.stop();
    await live.close();
    await nats.close();
    await settings.cleanup();
  }
});

test('the release of a time is the one trained on the newest snapshot taken by then', () => {
  const release = (version: string, takenAt: string | undefined, publishedAt: string): ModelRelease => ({
    family: retrievalFamily,
    version,
    contentHash: '',
    artifacts: [],
    publishedAt,
    metadata: {
      snapshot: `s-${takenAt}`,
      config: { version },
      ...(takenAt === undefined ? {} : { lineage: { takenAt, log: {} } }),
    },
  });
  const releases = [
    release('monday', '2026-11-23T03:00:00.000Z', '2026-11-23T03:20:00.000Z'),
    release('tuesday', '2026-11-24T03:00:00.000Z', '2026-11-24T03:20:00.000Z'),
    release('tuesday-again', '2026-11-24T03:00:00.000Z', '2026-11-24T09:00:00.000Z'),
    release('before-lineage', undefined, '2026-11-24T05:00:00.000Z'),
  ];
  assert.equal(releaseAsOf(releases, new Date('2026-11-23T12:00:00Z'))?.version, 'monday');
  assert.equal(releaseAsOf(releases, new Date('2026-11-24T03:00:00Z'))?.version, 'tuesday-again');
  assert.deepEqual(releaseAsOf(releases, new Date('2026-11-24T04:00:00Z'))?.config, {
    version: 'tuesday-again',
  });
  assert.equal(releaseAsOf(releases, new Date('2026-11-22T00:00:00Z')), undefined);
});

test('log prefixes are equal when every partition has the same next offset, absent meaning 0', () => {
  assert.ok(sameLog({ a: { '0': '5', '1': '0' } }, { a: { '0': '5' } }));
  assert.ok(sameLog({}, { a: { '0': '0' } }));
  assert.ok(!sameLog({ a: { '0': '5' } }, { a: { '0': '6' } }));
  assert.ok(!sameLog({ a: { '0': '5' } }, { a: { '0': '5' }, b: { '2': '1' } }));
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Client as TemporalClient } from '@temporalio/client';
import type { Consumer, ConsumerConfig, Kafka, Producer } from 'kafkajs';
import { runPipelineWorker } from '../../cli/worker';
import type { CatalogEvent, Impression, Interaction } from '../../schemas/events';
import { catalogOperations } from '../../services/catalog/catalog-indexer';
import { ensureCatalogIndex, searchClient } from '../../services/catalog/elasticsearch';
import { aliasTarget } from '../../services/catalog/vector-index';
import { exited, spawnCairn } from '../../services/config/cairn-process';
import { type ScratchSettings, scratchNamespace } from '../../services/config/scratch-namespace';
import { syntheticItems, syntheticUserId } from '../../services/data/synthetic';
import { eventProducer, kafkaClient } from '../../services/events/kafka';
import { announceChampion } from '../../services/lifecycle/champion-announcement';
import { openBudgetBucket, remainingBudget } from '../../services/lifecycle/exploration-budget';
import { terminateLifecycles } from '../../services/lifecycle/lifecycle-cleanup';
import { CatalogLifecycles, CountSignaller } from '../../services/lifecycle/lifecycle-consumers';
import {
  explorationBucket,
  lifecycleGroups,
  lifecycleWorkflowId,
} from '../../services/lifecycle/lifecycle-names';
import { retrainInput } from '../../services/orchestration/schedules';
import { temporalClient } from '../../services/orchestration/temporal';
import { temporalConfig } from '../../temporal.config';
import {
  countsSignal,
  itemLifecycle,
  type LifecycleView,
  lifecycleState,
  updatedSignal,
} from '../../workflows/item-lifecycle';
import type { RetrainResult } from '../../workflows/retrain';
import { fillSyntheticStore } from '../support/synthetic-store';
import { waitFor } from '../support/wait';

const { explorationBudget, warmAfterInteractions } = temporalConfig.lifecycle;
const synthetic = { seed: 5, itemCount: 400, userCount: 300, interactionCount: 15_000 };
const factors = 16;
/** Short, so the test does not wait out the production interval between an item's signals. */
const signalIntervalMs = 300;

interface VectorDoc {
  itemId: string;
  categories: string[];
  status: string;
  vector: number[];
}

describe('item lifecycle on the real stack', () => {
  let settings: ScratchSettings;
  let temporal: TemporalClient;
  let producer: Producer;
  let nats: NatsConnection;
  const search = () => searchClient(settings);
  let catalog: CatalogLifecycles;
  let counts: CountSignaller;
  let eventNumber = 0;
  let kafka: Kafka;

  const send = async (topic: string, key: string, events: object[]) => {
    await producer.send({ topic, messages: events.map((e) => ({ key, value: JSON.stringify(e) })) });
  };
  const created = (itemId: string): CatalogEvent => ({
    type: 'item_created',
    eventId: `e${eventNumber++}`,
    itemId,
    occurredAt: Date.now(),
    title: 'Galaxy Quest Returns',
    categories: ['sci-fi', 'comedy'],
    year: 2024,
    text: 'a crew of actors saves the galaxy again',
    qualityFlags: [],
  });
  const interaction = (itemId: string, user: number): Interaction => ({
    type: 'click',
    eventId: `e${eventNumber++}`,
    userId: syntheticUserId(user),
    itemId,
    occurredAt: Date.now(),
    surface: 'homepage',
  });
  const impression = (itemIds: string[]): Impression => ({
    slateId: `s${eventNumber++}`,
    userId: syntheticUserId(0),
    surface: 'homepage',
    servedAt: Date.now(),
    variant: 'explore',
    modelVersions: { retrieval: 'test' },
    items: itemIds.map((itemId, position) => ({ itemId, position, score: 1, propensity: 0.5 })),
  });
  const stateOf = (itemId: string) =>
    temporal.workflow.getHandle(lifecycleWorkflowId(settings, itemId)).query(lifecycleState);
  const waitForState = (itemId: string, what: string, check: (view: LifecycleView) => boolean) =>
    waitFor(
      async () => {
        const view = await stateOf(itemId).catch(() => undefined);
        return view !== undefined && check(view) ? view : undefined;
      },
      { what: `${itemId} ${what}`, timeoutMs: 60_000, pollMs: 200 },
    );
  const vectorDoc = async (itemId: string): Promise<VectorDoc | undefined> => {
    const client = search();
    try {
      const index = await aliasTarget(client, settings.itemsAlias);
      const doc = await client.get<Record<string, unknown>>(
        { index: index as string, id: itemId },
        { ignore: [404] },
      );
      if (!doc.found || doc._source === undefined) return undefined;
      // The vector is in the field of its norm's band (catalog/vector-space.ts).
      const {
        itemId: id,
        categories,
        status,
        ...bands
      } = doc._source as Omit<VectorDoc, 'vector'> & Record<string, number[]>;
      return { itemId: id, categories, status, vector: Object.values(bands)[0] };
    } finally {
      await client.close();
    }
  };
  const budgetLeft = async (itemId: string) =>
    remainingBudget(await openBudgetBucket(nats, explorationBucket(settings)), itemId);

  before(async () => {
    settings = await scratchNamespace('lc');
    await fillSyntheticStore(settings, synthetic);
    // The catalog index as the catalog indexer would have written it: the content map's input.
    const client = search();
    await ensureCatalogIndex(client, settings.catalogIndex);
    await client.bulk({
      refresh: true,
      operations: [...syntheticItems(synthetic)].flatMap((event) =>
        catalogOperations(event, settings.catalogIndex),
      ),
    });
    await client.close();
    temporal = await temporalClient(settings);
    await runPipelineWorker(
      settings,
      temporal.workflow.execute('retrain', {
        taskQueue: settings.pipelineTaskQueue,
        workflowId: `${settings.prefix}retrain`,
        args: [retrainInput(settings, { ials: { factors, lambda: 5, alpha: 10, epochs: 6, seed: 1 } })],
      }) as Promise<RetrainResult>,
    );
    kafka = kafkaClient(settings, 'lifecycle-test');
    producer = eventProducer(kafka);
    await producer.connect();
    nats = await connect({ servers: settings.natsUrl });
    catalog = new CatalogLifecycles({ kafka, temporal, settings });
    counts = new CountSignaller({ kafka, temporal, settings }, { intervalMs: signalIntervalMs });
    await Promise.all([catalog.start(), counts.start()]);
  });

  after(async () => {
    await Promise.all([catalog?.stop(), counts?.stop()]);
    await terminateLifecycles(temporal, settings.pipelineTaskQueue, 'test ended');
    await producer?.disconnect();
    const admin = kafkaClient(settings, 'lifecycle-test-cleanup').admin();
    await admin.connect();
    await admin.deleteGroups(Object.values(lifecycleGroups(settings))).catch(() => undefined);
    await admin.disconnect();
    await openBudgetBucket(nats, explorationBucket(settings)).then((kv) => kv.destroy());
    await nats?.close();
    await temporal?.connection.close();
    await settings?.cleanup();
  });

  it('takes a new item cold → exploring → warm → retired, with its state and its index document at each step', async () => {
    const stop = new AbortController();
    const worker = runPipelineWorker(
      settings,
      new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve())),
    );
    const itemId = 'new-item-1';
    try {
      await send(settings.topics.catalog, itemId, [created(itemId)]);
      const cold = await waitForState(itemId, 'cold with a vector and a budget', (v) => v.budget > 0);
      assert.equal(cold.stage, 'cold');
      assert.equal(cold.vector?.source, 'content');
      assert.equal(cold.budget, explorationBudget);
      const coldDoc = await vectorDoc(itemId);
      assert.ok(coldDoc, 'the cold item is in the serving index at once');
      assert.equal(coldDoc.status, 'active');
      assert.deepEqual(coldDoc.categories, ['sci-fi', 'comedy']);
      // The inner-product space one dimension longer, on the unit sphere (catalog/vector-space.ts).
      assert.equal(coldDoc.vector.length, factors + 1);
      assert.ok(coldDoc.vector.some((x) => x !== 0));
      assert.equal(await budgetLeft(itemId), explorationBudget);

      await send(settings.topics.impressions, syntheticUserId(0), [impression([itemId, 'si1'])]);
      const exploring = await waitForState(itemId, 'exploring', (v) => v.stage === 'exploring');
      assert.equal(exploring.impressions, 1);
      assert.equal(exploring.interactions, 0);

      // Up to the threshold in several waves, each from distinct users the release knows.
      for (let wave = 0; wave < 4; wave++) {
        const users = Array.from({ length: warmAfterInteractions / 4 }, (_, n) => wave * 25 + n);
        await send(
          settings.topics.interactions,
          itemId,
          users.map((u) => interaction(itemId, u)),
        );
        await send(settings.topics.impressions, syntheticUserId(wave), [impression([itemId])]);
        if (wave < 3) {
          const during = await waitForState(
            itemId,
            `counted wave ${wave}`,
            (v) => v.interactions === (wave + 1) * 25,
          );
          assert.equal(during.stage, 'exploring');
          assert.deepEqual((await vectorDoc(itemId))?.vector, coldDoc.vector, 'still the content vector');
        }
      }
      const warm = await waitForState(itemId, 'warm', (v) => v.stage === 'warm');
      assert.equal(warm.interactions, warmAfterInteractions);
      assert.equal(warm.impressions, 5);
      assert.equal(warm.distinctUsers, warmAfterInteractions);
      assert.equal(warm.vector?.source, 'fold-in');
      const warmDoc = await vectorDoc(itemId);
      assert.ok(warmDoc);
      assert.notDeepEqual(warmDoc.vector, coldDoc.vector, 'the fold-in replaced the content vector');
      assert.equal(await budgetLeft(itemId), undefined, 'exploration ended: the budget is revoked');

      await send(settings.topics.catalog, itemId, [
        { type: 'item_retired', eventId: `e${eventNumber++}`, itemId, occurredAt: Date.now() },
      ]);
      const handle = temporal.workflow.getHandle(lifecycleWorkflowId(settings, itemId));
      await waitFor(async () => (await handle.describe()).status.name === 'COMPLETED', {
        what: 'the retired lifecycle to end',
        timeoutMs: 60_000,
      });
      const ended: LifecycleView = await handle.result();
      assert.equal(ended.stage, 'retired');
      assert.equal(await vectorDoc(itemId), undefined, 'the retired item left the index');

      const refusedBefore = catalog.refused;
      await send(settings.topics.catalog, itemId, [created(itemId)]);
      await waitFor(() => catalog.refused > refusedBefore, {
        what: 'a replayed item_created to be refused',
        timeoutMs: 30_000,
      });
      assert.equal((await handle.describe()).status.name, 'COMPLETED', 'the retired item stays retired');
      assert.equal(await vectorDoc(itemId), undefined);
    } finally {
      stop.abort();
      await worker;
    }
  });

  it('loses no count when the worker is killed mid-lifecycle', async () => {
    const itemId = 'new-item-2';
    let worker = spawnCairn(settings, ['worker']);
    try {
      await send(settings.topics.catalog, itemId, [created(itemId)]);
      await waitForState(itemId, 'cold', (v) => v.budget > 0);
      let sentInteractions = 0;
      let sentImpressions = 0;
      const wave = async (users: number) => {
        await send(
          settings.topics.interactions,
          itemId,
          Array.from({ length: users }, () => interaction(itemId, sentInteractions++)),
        );
        await send(settings.topics.impressions, syntheticUserId(1), [impression([itemId])]);
        sentImpressions++;
      };
      await wave(30);
      await waitForState(itemId, 'first wave counted', (v) => v.interactions === 30);
      // Killed while events keep coming: their signals wait in Temporal for the next worker.
      await wave(20);
      worker.kill('SIGKILL');
      await exited(worker);
      await wave(25);
      await wave(10);
      worker = spawnCairn(settings, ['worker']);
      const recovered = await waitForState(
        itemId,
        'every count after the restart',
        (v) => v.interactions === sentInteractions && v.impressions === sentImpressions,
      );
      assert.equal(recovered.stage, 'exploring');
      assert.equal(recovered.interactions, 85);
      await new Promise((resolve) => setTimeout(resolve, 4 * signalIntervalMs));
      const settled = await stateOf(itemId);
      assert.equal(settled.interactions, 85, 'nothing counted twice');
      assert.equal(settled.impressions, 4);
      await wave(15);
      const warm = await waitForState(itemId, 'warm after the restart', (v) => v.stage === 'warm');
      assert.equal(warm.interactions, warmAfterInteractions);
      assert.equal(warm.vector?.source, 'fold-in');
    } finally {
      worker.kill('SIGTERM');
      await exited(worker);
    }
  });
  it("re-embeds its items in a new champion's space without restarting their lifecycles", async () => {
    const stop = new AbortController();
    const worker = runPipelineWorker(
      settings,
      new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve())),
    );
    const coldItem = 'new-item-3';
    const warmItem = 'new-item-2';
    try {
      await send(settings.topics.catalog, coldItem, [created(coldItem)]);
      const cold = await waitForState(coldItem, 'cold', (v) => v.budget > 0);
      const warm = await stateOf(warmItem);
      assert.equal(warm.stage, 'warm');
      const warmRun = (await temporal.workflow.getHandle(lifecycleWorkflowId(settings, warmItem)).describe())
        .runId;

      // Another config is another release; the gate is opened wide so that it is promoted.
      const retrained = (await temporal.workflow.execute('retrain', {
        taskQueue: settings.pipelineTaskQueue,
        workflowId: `${settings.prefix}retrain-2`,
        args: [
          retrainInput(settings, {
            ials: { factors, lambda: 5, alpha: 10, epochs: 6, seed: 2 },
            gateTolerance: 1,
          }),
        ],
      })) as RetrainResult;
      const version = retrained.release.version;
      assert.ok(retrained.decision.promote);
      assert.notEqual(version, cold.vector?.version);

      // The retrain has announced the champion already; another announcement re-embeds nothing twice.
      assert.ok((await announceChampion(temporal, settings.pipelineTaskQueue, version)) >= 2);
      const recold = await waitForState(coldItem, 're-embedded', (v) => v.vector?.version === version);
      assert.deepEqual(recold.vector, { source: 'content', version });
      assert.equal(recold.stage, 'cold');
      const rewarm = await waitForState(warmItem, 'folded in again', (v) => v.vector?.version === version);
      assert.deepEqual(rewarm.vector, { source: 'fold-in', version });
      assert.equal(rewarm.stage, 'warm');
      assert.equal(rewarm.interactions, warmAfterInteractions);
      for (const itemId of [coldItem, warmItem]) {
        const doc = await vectorDoc(itemId);
        assert.ok(doc, `${itemId} is in the new index`);
        assert.equal(doc.vector.length, factors + 1);
      }
      const run = (await temporal.workflow.getHandle(lifecycleWorkflowId(settings, warmItem)).describe())
        .runId;
      assert.equal(run, warmRun, 'the same run: no restart');
    } finally {
      stop.abort();
      await worker;
    }
  });
  it('continues a long life as new without losing a count or its state, until the item is blocked', async () => {
    const stop = new AbortController();
    const worker = runPipelineWorker(
      settings,
      new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve())),
    );
    const itemId = 'long-lived';
    const {
      eventId: _e,
      itemId: _i,
      type: _t,
      occurredAt: _o,
      qualityFlags: _q,
      ...content
    } = created(itemId) as Extract<CatalogEvent, { type: 'item_created' }>;
    const handle = await temporal.workflow.start(itemLifecycle, {
      taskQueue: settings.pipelineTaskQueue,
      workflowId: lifecycleWorkflowId(settings, itemId),
      args: [{ itemId, content, eventsPerRun: 40 }],
    });
    try {
      await waitForState(itemId, 'cold', (v) => v.budget > 0);
      const signals = 30;
      for (let n = 0; n < signals; n++)
        await handle.signal(countsSignal, {
          contributions: [{ stream: 'interactions', partition: 0, offsets: [n] }],
          users: [syntheticUserId(n)],
        });
      const view = await waitForState(itemId, 'every signal counted', (v) => v.interactions === signals);
      assert.equal(view.distinctUsers, signals);
      assert.equal(view.stage, 'cold', 'no impression yet');
      assert.equal(view.budget, explorationBudget);
      const runs = await waitFor(
        async () => {
          const statuses: string[] = [];
          for await (const execution of temporal.workflow.list({
            query: `WorkflowId = '${lifecycleWorkflowId(settings, itemId)}'`,
          }))
            statuses.push(execution.status.name);
          // Visibility is eventually consistent: wait until it shows the continued run and its successor.
          return statuses.includes('CONTINUED_AS_NEW') && statuses.includes('RUNNING') && statuses;
        },
        { what: 'the lifecycle to have continued as new', timeoutMs: 30_000, pollMs: 500 },
      );
      assert.deepEqual(
        runs.filter((status) => status === 'RUNNING'),
        ['RUNNING'],
      );

      await send(settings.topics.catalog, itemId, [
        {
          type: 'item_blocked',
          eventId: `e${eventNumber++}`,
          itemId,
          occurredAt: Date.now(),
          reason: 'rights expired',
        },
      ]);
      await waitFor(async () => (await handle.describe()).status.name === 'COMPLETED', {
        what: 'the blocked lifecycle to end',
        timeoutMs: 60_000,
      });
      const ended: LifecycleView = await temporal.workflow.getHandle(handle.workflowId).result();
      assert.equal(ended.stage, 'blocked');
      assert.equal(ended.endReason, 'rights expired');
      assert.equal(ended.interactions, signals);
      assert.equal(await vectorDoc(itemId), undefined, 'the blocked item left the index');
      assert.equal(await budgetLeft(itemId), undefined);
    } finally {
      stop.abort();
      await worker;
    }
  });

  it('counts a resent batch and a partly overlapping one once, and a counter killed between signal and commit counts nothing twice', async () => {
    const stop = new AbortController();
    const worker = runPipelineWorker(
      settings,
      new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve())),
    );
    const direct = 'resent-batches';
    const crashed = 'counted-by-a-crashed-counter';
    const offsets = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, n) => from + n);
    const batch = (from: number, to: number) => ({
      contributions: [{ stream: 'interactions' as const, partition: 0, offsets: offsets(from, to) }],
      users: offsets(from, to).map(syntheticUserId),
    });
    try {
      await send(settings.topics.catalog, direct, [created(direct)]);
      await waitForState(direct, 'cold', (v) => v.budget > 0);
      const handle = temporal.workflow.getHandle(lifecycleWorkflowId(settings, direct));
      await handle.signal(countsSignal, batch(0, 9));
      await handle.signal(countsSignal, batch(0, 9));
      await handle.signal(countsSignal, batch(5, 14));
      await handle.signal(countsSignal, batch(12, 14));
      const counted = await waitForState(direct, 'the batches applied', (v) => v.distinctUsers === 15);
      assert.equal(counted.interactions, 15, 'offsets 0..14 once each');

      // A counter whose commits never happen is one killed after each signal, before its commit.
      const noCommits = Object.assign(Object.create(kafka) as Kafka, {
        consumer: (config: ConsumerConfig): Consumer =>
          Object.assign(kafka.consumer(config), { commitOffsets: async () => undefined }),
      });
      await counts.stop();
      const dying = new CountSignaller(
        { kafka: noCommits, temporal, settings },
        { intervalMs: signalIntervalMs },
      );
      await dying.start();
      await send(settings.topics.catalog, crashed, [created(crashed)]);
      await waitForState(crashed, 'cold', (v) => v.budget > 0);
      await send(
        settings.topics.interactions,
        crashed,
        Array.from({ length: 30 }, (_, n) => interaction(crashed, n)),
      );
      await send(settings.topics.impressions, syntheticUserId(0), [impression([crashed])]);
      await waitForState(crashed, 'signalled', (v) => v.interactions === 30 && v.impressions === 1);
      await dying.stop();
      // Read again from the last commit: everything above, in batches that overlap the counted part.
      await send(
        settings.topics.interactions,
        crashed,
        Array.from({ length: 20 }, (_, n) => interaction(crashed, 30 + n)),
      );
      counts = new CountSignaller({ kafka, temporal, settings }, { intervalMs: signalIntervalMs });
      await counts.start();
      await waitForState(crashed, 'the new events counted', (v) => v.interactions >= 50);
      await new Promise((resolve) => setTimeout(resolve, 4 * signalIntervalMs));
      const settled = await stateOf(crashed);
      assert.equal(settled.interactions, 50, 'nothing counted twice');
      assert.equal(settled.impressions, 1);
      assert.equal(settled.distinctUsers, 50);
    } finally {
      stop.abort();
      await worker;
    }
  });

  it('keeps counts that arrive before item_created in a lifecycle that waits for the item', async () => {
    const stop = new AbortController();
    const worker = runPipelineWorker(
      settings,
      new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve())),
    );
    const itemId = 'counted-before-created';
    try {
      await send(
        settings.topics.interactions,
        itemId,
        Array.from({ length: 12 }, (_, n) => interaction(itemId, n)),
      );
      await send(settings.topics.impressions, syntheticUserId(0), [impression([itemId])]);
      const waiting = await waitForState(itemId, 'counted while uncreated', (v) => v.interactions === 12);
      assert.equal(waiting.stage, 'uncreated');
      assert.equal(waiting.impressions, 1);
      assert.equal(waiting.budget, 0);
      assert.equal(waiting.vector, undefined);
      assert.equal(await vectorDoc(itemId), undefined, 'not in the index before it exists');

      await send(settings.topics.catalog, itemId, [created(itemId)]);
      const placed = await waitForState(itemId, 'placed', (v) => v.budget > 0);
      assert.equal(placed.stage, 'exploring', 'it was shown already');
      assert.equal(placed.interactions, 12, 'the early counts are kept');
      assert.equal(placed.distinctUsers, 12);
      assert.equal(placed.vector?.source, 'content');
      const doc = await vectorDoc(itemId);
      assert.ok(doc);
      assert.deepEqual(doc.categories, ['sci-fi', 'comedy']);
    } finally {
      stop.abort();
      await worker;
    }
  });

  it('applies item_updated: new content re-embeds an exploring item, new categories reach a warm one', async () => {
    const stop = new AbortController();
    const worker = runPipelineWorker(
      settings,
      new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve())),
    );
    const coldItem = 'updated-cold';
    const warmItem = 'new-item-2';
    const updated = (itemId: string, change: object): CatalogEvent => ({
      type: 'item_updated',
      eventId: `e${eventNumber++}`,
      itemId,
      occurredAt: Date.now(),
      ...change,
    });
    try {
      await send(settings.topics.catalog, coldItem, [created(coldItem)]);
      const cold = await waitForState(coldItem, 'cold', (v) => v.budget > 0);
      const coldDoc = await vectorDoc(coldItem);
      assert.ok(coldDoc);
      await send(settings.topics.catalog, coldItem, [
        updated(coldItem, {
          title: 'A Quiet Garden',
          text: 'a gardener and her roses through one summer',
          categories: ['drama'],
        }),
      ]);
      const redoc = await waitFor(
        async () => {
          const doc = await vectorDoc(coldItem);
          return doc?.categories.includes('drama') ? doc : undefined;
        },
        { what: 'the cold item re-embedded from its new content', timeoutMs: 60_000, pollMs: 200 },
      );
      assert.deepEqual(redoc.categories, ['drama']);
      assert.equal(redoc.status, 'active');
      assert.notDeepEqual(redoc.vector, coldDoc.vector, 'a vector from the new content');
      const after = await stateOf(coldItem);
      assert.equal(after.stage, 'cold');
      assert.equal(after.budget, cold.budget);
      assert.deepEqual(after.vector, cold.vector, 'still a content vector of the same release');

      const warm = await stateOf(warmItem);
      assert.equal(warm.stage, 'warm');
      const warmDoc = await vectorDoc(warmItem);
      assert.ok(warmDoc);
      await temporal.workflow
        .getHandle(lifecycleWorkflowId(settings, warmItem))
        .signal(updatedSignal, { categories: ['documentary'] });
      const recategorised = await waitFor(
        async () => {
          const doc = await vectorDoc(warmItem);
          return doc?.categories.includes('documentary') ? doc : undefined;
        },
        { what: 'the warm item recategorised', timeoutMs: 60_000, pollMs: 200 },
      );
      assert.deepEqual(recategorised.categories, ['documentary']);
      assert.deepEqual(recategorised.vector, warmDoc.vector, 'the fold-in vector stays');
      assert.deepEqual((await stateOf(warmItem)).vector, warm.vector);
    } finally {
      stop.abort();
      await worker;
    }
  });
});

/**
 * Which counts start a lifecycle: an item the catalog does not know yet gets one that waits for
 * its item_created; an item created long before the lifecycle consumers (a trained catalog item,
 * as in the demo's replay) gets none, instead of a workflow that waits an hour for an
 * item_created that never comes. No worker runs here: only which executions exist is asserted.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Client as TemporalClient, WorkflowNotFoundError } from '@temporalio/client';
import type { Producer } from 'kafkajs';
import type { CatalogEvent, Interaction } from '../../schemas/events';
import { type ScratchSettings, scratchNamespace } from '../../services/config/scratch-namespace';
import { kafkaClient } from '../../services/events/kafka';
import { terminateLifecycles } from '../../services/lifecycle/lifecycle-cleanup';
import { CountSignaller } from '../../services/lifecycle/lifecycle-consumers';
import { lifecycleGroups, lifecycleWorkflowId } from '../../services/lifecycle/lifecycle-names';
import { temporalClient } from '../../services/orchestration/temporal';
import { itemLifecycle } from '../../workflows/item-lifecycle';
import { idempotentProducer } from '../support/idempotent-producer';
import { waitFor } from '../support/wait';

let settings: ScratchSettings;
let temporal: TemporalClient;
let producer: Producer;
let counts: CountSignaller | undefined;

before(async () => {
  settings = await scratchNamespace('lccat');
  temporal = await temporalClient(settings);
  // Counts are per log record: a retried request's copies would be counted too.
  producer = idempotentProducer(kafkaClient(settings, 'count-signaller-catalog-test'));
  await producer.connect();
});

after(async () => {
  await counts?.stop();
  await terminateLifecycles(temporal, settings.pipelineTaskQueue, 'test ended');
  await producer?.disconnect();
  const admin = kafkaClient(settings, 'count-signaller-catalog-cleanup').admin();
  await admin.connect();
  await admin.deleteGroups(Object.values(lifecycleGroups(settings))).catch(() => undefined);
  await admin.disconnect();
  await temporal?.connection.close();
  await settings?.cleanup();
});

const exists = async (itemId: string): Promise<boolean> => {
  try {
    await temporal.workflow.getHandle(lifecycleWorkflowId(settings, itemId)).describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
};

test('counts start a waiting lifecycle for an unknown item, and none for an item created before the lifecycles, which is not signalled (visibility says so) until a recheck finds one started late', async () => {
  const trained: CatalogEvent = {
    type: 'item_created',
    eventId: 'c1',
    itemId: 'trained-item',
    occurredAt: Date.UTC(1997, 0, 1),
    title: 'Star Wars',
    categories: ['sci-fi'],
    year: 1977,
    text: '',
    qualityFlags: [],
  };
  await producer.send({
    topic: settings.topics.catalog,
    messages: [{ key: trained.itemId, value: JSON.stringify(trained) }],
  });
  // The real client, with the signals it is asked for recorded by workflow id.
  const signalled: string[] = [];
  const workflows = new Proxy(temporal.workflow, {
    get: (target, property) =>
      property === 'getHandle'
        ? (workflowId: string) => {
            signalled.push(workflowId);
            return target.getHandle(workflowId);
          }
        : Reflect.get(target, property),
  });
  const observed = new Proxy(temporal, {
    get: (target, property) => (property === 'workflow' ? workflows : Reflect.get(target, property)),
  });
  counts = new CountSignaller(
    { kafka: kafkaClient(settings, 'count-signaller-catalog'), temporal: observed, settings },
    { intervalMs: 200, recheckWithoutLifecycleMs: 5_000 },
  );
  await counts.start();
  const click = (itemId: string, n: number): Interaction => ({
    type: 'click',
    eventId: `i${n}`,
    userId: 'u1',
    itemId,
    occurredAt: Date.now(),
    surface: 'homepage',
  });
  await producer.send({
    topic: settings.topics.interactions,
    messages: [click('trained-item', 1), click('not-yet-created', 2)].map((e) => ({
      key: e.itemId,
      value: JSON.stringify(e),
    })),
  });
  await waitFor(() => (counts !== undefined && counts.signals + counts.dropped >= 2 ? true : undefined), {
    what: 'both items counted',
    timeoutMs: 60_000,
  });
  assert.equal(counts.dropped, 1, 'the trained item has no lifecycle to count for');
  assert.equal(await exists('trained-item'), false);
  assert.equal(await exists('not-yet-created'), true, 'counts before item_created start the lifecycle');

  await producer.send({
    topic: settings.topics.interactions,
    messages: [{ key: 'trained-item', value: JSON.stringify(click('trained-item', 3)) }],
  });
  await waitFor(() => (counts !== undefined && counts.dropped >= 2 ? true : undefined), {
    what: 'the later click counted',
    timeoutMs: 60_000,
  });
  assert.deepEqual(
    signalled.filter((id) => id === lifecycleWorkflowId(settings, 'trained-item')),
    [],
    'visibility says the trained item has no lifecycle: it is not signalled, now or for the later click',
  );

  // The catalog consumer starts its lifecycle late (behind on old item_created events): once the
  // recheck is due, its counts reach it.
  await temporal.workflow.start(itemLifecycle, {
    workflowId: lifecycleWorkflowId(settings, 'trained-item'),
    taskQueue: settings.pipelineTaskQueue,
    args: [{ itemId: 'trained-item' }],
  });
  const signalsBefore = counts.signals;
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  await producer.send({
    topic: settings.topics.interactions,
    messages: [{ key: 'trained-item', value: JSON.stringify(click('trained-item', 4)) }],
  });
  await waitFor(() => (counts !== undefined && counts.signals > signalsBefore ? true : undefined), {
    what: "the late lifecycle's counts",
    timeoutMs: 60_000,
  });
});

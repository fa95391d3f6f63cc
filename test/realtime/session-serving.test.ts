/**
 * On the real stack: a click produced to Kafka reaches the next recommend call through the
 * session consumer, the session bucket and the replica's watch; and two replicas spending
 * exploration budgets under concurrent load never show an item more often than its budget.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { publishedData, publishedNamespace } from '../../bench/data/published-release';
import type { Impression } from '../../schemas/events';
import type { RecommendResponse, RecommendSlate } from '../../schemas/recommend';
import { searchClient } from '../../services/catalog/elasticsearch';
import type { ScratchSettings } from '../../services/config/scratch-namespace';
import { syntheticItems } from '../../services/data/synthetic';
import { eventProducer, kafkaClient } from '../../services/events/kafka';
import {
  ExplorationBudget,
  grantBudget,
  openBudgetBucket,
} from '../../services/lifecycle/exploration-budget';
import { explorationBucket } from '../../services/lifecycle/lifecycle-names';
import { realtimeConfig, sessionBucket } from '../../services/realtime/realtime-config';
import { SessionConsumer } from '../../services/realtime/session-consumer';
import { SessionView } from '../../services/realtime/session-store';
import { openModelRegistry } from '../../services/registry/model-registry';
import { replicaAddresses, ServingReplica } from '../../services/serving/replica';
import { parseServingConfig } from '../../services/serving/serving-config';
import { waitFor } from '../support/wait';

let settings: ScratchSettings;
let nc: NatsConnection;
const closers: (() => Promise<unknown>)[] = [];

before(async () => {
  settings = await publishedNamespace('rt');
  nc = await connect({ servers: settings.natsUrl });
});

after(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  if (settings === undefined) return;
  for (const bucket of [sessionBucket(settings), explorationBucket(settings)])
    await new Kvm(nc)
      .open(bucket)
      .then((kv) => kv.destroy())
      .catch(() => undefined);
  await nc?.close();
  await settings.cleanup();
});

async function startReplica(
  label: string,
  extra: Pick<Parameters<typeof ServingReplica.start>[0], 'sessions' | 'budget'>,
  pipeline: Record<string, unknown> = {},
): Promise<ServingReplica> {
  const es = searchClient(settings);
  const replica = await ServingReplica.start({
    nc,
    search: es,
    kafka: kafkaClient(settings, `cairn-test-${label}`),
    registry: await openModelRegistry(nc, settings.registryBucket),
    config: parseServingConfig({ search: 'in-process', deadlineMs: 5_000, pipeline }),
    ...replicaAddresses(settings),
    log: () => undefined,
    ...extra,
  });
  closers.push(async () => {
    await replica.drain();
    await es.close();
  });
  return replica;
}

async function ask(request: object): Promise<RecommendSlate> {
  const reply = JSON.parse(
    (await nc.request(settings.recommendSubject, JSON.stringify(request), { timeout: 10_000 })).string(),
  ) as RecommendResponse;
  assert.ok(reply.ok, JSON.stringify(reply));
  return reply;
}

/** The impressions of the slates, read back from the topic (one per slate). */
async function impressionsOf(slates: RecommendSlate[], label: string): Promise<Impression[]> {
  const ours = new Set(slates.map((s) => s.slateId));
  const seen = new Map<string, Impression>();
  const kafka = kafkaClient(settings, `cairn-test-${label}-impressions`);
  const groupId = `${settings.prefix}${label}-check`;
  const reader = kafka.consumer({ groupId });
  await reader.connect();
  await reader.subscribe({ topic: settings.topics.impressions, fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message }) => {
      const impression = JSON.parse(message.value?.toString() ?? '{}') as Impression;
      if (ours.has(impression.slateId) && !seen.has(impression.slateId))
        seen.set(impression.slateId, impression);
    },
  });
  try {
    await waitFor(() => seen.size === ours.size, {
      what: `${ours.size} slates' impressions on the topic`,
      timeoutMs: 30_000,
    });
  } finally {
    await reader.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
  return [...seen.values()];
}

test('a click produced to Kafka is reflected in the next recommend call, with nothing in the request; onboarding interests steer a new user', async () => {
  const consumer = new SessionConsumer({
    kafka: kafkaClient(settings, 'cairn-test-sessions'),
    nats: nc,
    settings,
  });
  await consumer.start();
  closers.push(() => consumer.stop());
  const sessions = await SessionView.open(nc, sessionBucket(settings), realtimeConfig.sessionTtlMs);
  closers.push(() => sessions.close());
  const replica = await startReplica('session', { sessions });
  const producer = eventProducer(kafkaClient(settings, 'cairn-test-clicks'));
  await producer.connect();
  closers.push(() => producer.disconnect());

  const userId = 'newcomer-1';
  const first = await ask({ userId, k: 10 });
  assert.equal(first.strategy, 'cold-start');
  const clicked = first.items[0].itemId;
  const click = {
    eventId: `click-${userId}-1`,
    type: 'click',
    userId,
    itemId: clicked,
    occurredAt: Date.now(),
    surface: 'homepage',
    slateId: first.slateId,
  };
  await producer.send({
    topic: settings.topics.interactions,
    messages: [{ key: userId, value: JSON.stringify(click) }],
  });
  const next = await waitFor(
    async () => {
      const slate = await ask({ userId, k: 10 });
      return slate.strategy === 'session' ? slate : undefined;
    },
    { what: 'a recommend call that reflects the click', timeoutMs: 20_000, pollMs: 50 },
  );
  assert.ok(!next.items.some((i) => i.itemId === clicked), 'the clicked item is filtered out');
  assert.ok(
    next.items.some((i) => i.reasons.generators.includes('session')),
    'the click steers the candidates: its neighbours are proposed',
  );
  assert.notDeepEqual(
    next.items.map((i) => i.itemId),
    first.items.slice(1).map((i) => i.itemId),
    'the answer moved, not only lost the clicked item',
  );
  assert.ok(consumer.written >= 1);

  // Onboarding: a new user's chosen categories steer their first answer.
  const categoryOf = new Map([...syntheticItems(publishedData)].map((i) => [i.itemId, i.categories]));
  const before = await ask({ userId: 'newcomer-2', k: 10 });
  const rare = [...new Set([...categoryOf.values()].flat())].find(
    (c) => !before.items.some((i) => categoryOf.get(i.itemId)?.includes(c)),
  );
  assert.ok(rare !== undefined, 'a category the cold-start answer does not show');
  const inRare = (slate: RecommendSlate) =>
    slate.items.filter((i) => categoryOf.get(i.itemId)?.includes(rare)).length;
  const interests = {
    eventId: 'onboarding-newcomer-2',
    type: 'onboarding_interests',
    userId: 'newcomer-2',
    occurredAt: Date.now(),
    categories: [rare],
  };
  await producer.send({
    topic: settings.topics.users,
    messages: [{ key: 'newcomer-2', value: JSON.stringify(interests) }],
  });
  const steered = await waitFor(
    async () => {
      const slate = await ask({ userId: 'newcomer-2', k: 10 });
      return inRare(slate) >= 3 ? slate : undefined;
    },
    { what: `the onboarding interest ${rare} in the answer`, timeoutMs: 20_000 },
  );
  assert.ok(steered.items.some((i) => i.reasons.generators.includes('interests')));
  const asked = await ask({ userId: 'newcomer-3', k: 10, interests: [rare] });
  assert.ok(inRare(asked) >= 3, 'interests in the request steer as well');
  await replica.drain();
});

test('two serving replicas under concurrent load never exceed an item budget (impressions on the topic)', async () => {
  const bucket = explorationBucket(settings);
  const kv = await openBudgetBucket(nc, bucket);
  const budgetOf = 40;
  const probe = await startReplica('probe', {}, {});
  const popular = await ask({ userId: 'probe-user', k: 20 });
  await probe.drain();
  // Popular items: without a budget they would be in nearly every slate.
  const exploring = popular.items.slice(0, 3).map((i) => i.itemId);
  for (const itemId of exploring) await grantBudget(kv, itemId, budgetOf);

  const options = { leaseSize: 7, refillBelow: 2 };
  const replicas: ServingReplica[] = [];
  for (const label of ['a', 'b']) {
    const own = await connect({ servers: settings.natsUrl });
    const budget = await ExplorationBudget.open(own, bucket, options);
    closers.push(async () => {
      await budget.close();
      await own.close();
    });
    await waitFor(() => exploring.every((id) => budget.budgeted(id)), {
      what: `replica ${label} sees the budgets`,
      timeoutMs: 10_000,
    });
    replicas.push(
      await startReplica(`budget-${label}`, { budget }, { budgetSlotRate: 1, explorationRate: 0 }),
    );
  }

  const slates: RecommendSlate[] = [];
  const users = 600;
  for (let wave = 0; wave < users; wave += 50)
    slates.push(
      ...(await Promise.all(
        Array.from({ length: 50 }, (_, i) => ask({ userId: `visitor-${wave + i}`, k: 10 })),
      )),
    );
  const explored = slates.flatMap((s) => s.items.filter((i) => exploring.includes(i.itemId)));
  for (const item of explored) {
    assert.equal(item.rank, 3, 'an exploring item only in the budget slot');
    assert.ok(item.reasons.exploration && item.propensity > 0 && item.propensity <= 1);
  }
  const countersA = await replicas[0].drain();
  const countersB = await replicas[1].drain();
  assert.ok(countersA.served > 0 && countersB.served > 0, 'both replicas served');

  const shown = new Map<string, number>();
  for (const impression of await impressionsOf(slates, 'budget'))
    for (const item of impression.items)
      if (exploring.includes(item.itemId)) shown.set(item.itemId, (shown.get(item.itemId) ?? 0) + 1);
  for (const itemId of exploring)
    assert.ok(
      (shown.get(itemId) ?? 0) <= budgetOf,
      `${itemId} shown ${shown.get(itemId)} times, budget ${budgetOf}`,
    );
  const total = [...shown.values()].reduce((a, b) => a + b, 0);
  // 600 slates, each with one budget slot: the budgets (120) are spent, up to the leases still held.
  assert.ok(total >= 3 * budgetOf - 2 * 3 * options.leaseSize, `only ${total} exploring impressions`);
  assert.equal(total, explored.length, 'every exploring impression is one the replicas reported');
});

test('an item created after the release gets its exploration impressions through the budget slot (on the topic)', async () => {
  const itemId = `created-after-release-${Date.now()}`;
  const producer = eventProducer(kafkaClient(settings, 'cairn-test-new-item'));
  await producer.connect();
  closers.push(() => producer.disconnect());
  const created = {
    eventId: `created-${itemId}`,
    type: 'item_created',
    itemId,
    occurredAt: Date.now(),
    title: 'An item the release has never seen',
    categories: [],
    year: 2026,
    text: '',
    qualityFlags: [],
  };
  await producer.send({
    topic: settings.topics.catalog,
    messages: [{ key: itemId, value: JSON.stringify(created) }],
  });
  const kv = await openBudgetBucket(nc, explorationBucket(settings));
  await grantBudget(kv, itemId, 20);
  const own = await connect({ servers: settings.natsUrl });
  const budget = await ExplorationBudget.open(own, explorationBucket(settings), {
    leaseSize: 5,
    refillBelow: 1,
  });
  closers.push(async () => {
    await budget.close();
    await own.close();
  });
  await waitFor(() => budget.budgeted(itemId), { what: 'the replica sees the budget', timeoutMs: 10_000 });
  const replica = await startReplica('new-item', { budget }, { budgetSlotRate: 1, explorationRate: 0 });

  const slates: RecommendSlate[] = [];
  let visitor = 0;
  await waitFor(
    async () => {
      const slate = await ask({ userId: `new-item-visitor-${visitor++}`, k: 10 });
      slates.push(slate);
      return slate.items.some((i) => i.itemId === itemId);
    },
    { what: `${itemId} in a slate`, timeoutMs: 20_000, pollMs: 20 },
  );
  const shownHere = slates.flatMap((s) => s.items.filter((i) => i.itemId === itemId));
  for (const item of shownHere) {
    assert.equal(item.rank, 3, 'only in the budget slot');
    assert.ok(item.reasons.exploration && item.propensity > 0 && item.propensity <= 1);
  }
  await replica.drain();
  const onTopic = (await impressionsOf(slates, 'new-item')).flatMap((i) =>
    i.items.filter((item) => item.itemId === itemId),
  );
  assert.equal(onTopic.length, shownHere.length, 'each slate showing the new item is an impression of it');
  assert.ok(onTopic.length >= 1);
});

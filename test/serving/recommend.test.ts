import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { runPipelineWorker } from '../../cli/worker';
import type { RecommendResponse } from '../../schemas/recommend';
import { searchClient } from '../../services/catalog/elasticsearch';
import { scratchNamespace } from '../../services/config/scratch-namespace';
import { syntheticItemId, syntheticUserId } from '../../services/data/synthetic';
import { retrainInput } from '../../services/orchestration/schedules';
import { temporalClient } from '../../services/orchestration/temporal';
import { openModelRegistry } from '../../services/registry/model-registry';
import { Recommender } from '../../services/serving/recommender';
import { answerRecommendations } from '../../services/serving/responder';
import { InteractionStore } from '../../services/store/interaction-store';
import type { RetrainResult } from '../../workflows/retrain';
import { fillSyntheticStore } from '../support/synthetic-store';

test('cairn.recommend.v1 answers from the champion, steered by the session, and rejects bad requests with a reason', async () => {
  const settings = await scratchNamespace();
  await fillSyntheticStore(settings, { seed: 5, itemCount: 400, userCount: 300, interactionCount: 15_000 });
  const client = await temporalClient(settings);
  const release = (await runPipelineWorker(
    settings,
    client.workflow.execute('retrain', {
      taskQueue: settings.pipelineTaskQueue,
      workflowId: `${settings.prefix}retrain`,
      args: [retrainInput(settings, { ials: { factors: 16, lambda: 5, alpha: 10, epochs: 6, seed: 1 } })],
    }),
  )) as RetrainResult;
  await client.connection.close();

  const nc = await connect({ servers: settings.natsUrl });
  const search = searchClient(settings);
  const recommender = new Recommender(
    search,
    await openModelRegistry(nc, settings.registryBucket),
    settings.itemsAlias,
  );
  assert.equal(await recommender.refresh(), release.release.version);
  const subscription = answerRecommendations(nc, settings.recommendSubject, recommender);
  const ask = async (request: unknown): Promise<RecommendResponse> => {
    const body = typeof request === 'string' ? request : JSON.stringify(request);
    return JSON.parse((await nc.request(settings.recommendSubject, body, { timeout: 5_000 })).string());
  };
  try {
    const user = syntheticUserId(3);
    const plain = await ask({ userId: user, k: 10 });
    assert.ok(plain.ok);
    assert.equal(plain.items.length, 10);
    assert.equal(plain.strategy, 'user');
    assert.equal(plain.modelVersion, release.release.version);
    const history = new Set<string>();
    const store = await InteractionStore.open(settings.storeDir);
    const userIndex = store.userIndexOf(user);
    await store.scanInteractions((r) => {
      if (r.user === userIndex) history.add(store.itemIds[r.item]);
    });
    await store.close();
    assert.ok(history.size > 0);
    assert.ok(
      plain.items.every((i) => !history.has(i.itemId)),
      'what the user already had is filtered out',
    );

    const recent = [syntheticItemId(7), syntheticItemId(8)];
    const steered = await ask({ userId: user, k: 10, recentItems: recent });
    assert.ok(steered.ok);
    assert.equal(steered.strategy, 'user+session');
    assert.ok(
      steered.items.every((i) => !recent.includes(i.itemId)),
      'the session is not recommended back',
    );
    assert.notDeepEqual(steered.items, plain.items, 'recent clicks change the next answer');

    const newcomer = await ask({ userId: 'someone-new', recentItems: recent, k: 5 });
    assert.ok(newcomer.ok);
    assert.equal(newcomer.strategy, 'session');
    const stranger = await ask({ userId: 'someone-else', k: 5 });
    assert.ok(stranger.ok);
    assert.equal(stranger.strategy, 'cold-start');
    assert.equal(stranger.items.length, 5);

    const tooMany = await ask({ userId: user, k: 0 });
    assert.ok(!tooMany.ok);
    assert.match(tooMany.error, /^k: /);
    const garbage = await ask('{"userId": ');
    assert.ok(!garbage.ok);
    assert.match(garbage.error, /^invalid JSON/);
    const extra = await ask({ userId: user, debug: true });
    assert.ok(!extra.ok);
    assert.match(extra.error, /Unrecognized key/);
  } finally {
    subscription.unsubscribe();
    await nc.close();
    await search.close();
    await settings.cleanup();
  }
});

/**
 * A scratch namespace serving MovieLens 100K: users, items and ratings in its store, users and
 * items on its log, and a release trained from that store by the retrain workflow and promoted.
 */
import { join } from 'node:path';
import { runPipelineWorker } from '../../cli/worker';
import type { ScratchSettings } from '../../services/config/scratch-namespace';
import { loadMovieLens } from '../../services/data/movielens';
import { itemCreated, ratingInteraction, userCreated } from '../../services/data/movielens-events';
import { eventProducer, kafkaClient } from '../../services/events/kafka';
import { retrainInput } from '../../services/orchestration/schedules';
import { temporalClient } from '../../services/orchestration/temporal';
import { InteractionStore } from '../../services/store/interaction-store';

/** Loads ML-100K into the namespace and promotes a first release, with a pipeline worker in this process for the retrain. */
export async function promotedMovieLensNamespace(
  settings: ScratchSettings,
): Promise<{ users: string[]; items: string[] }> {
  const loaded = await loadMovieLensNamespace(settings);
  const client = await temporalClient(settings);
  try {
    await runPipelineWorker(
      settings,
      client.workflow.execute('retrain', {
        taskQueue: settings.pipelineTaskQueue,
        workflowId: `${settings.prefix}retrain`,
        workflowExecutionTimeout: '45 minutes',
        args: [retrainInput(settings, {})],
      }),
    );
  } finally {
    await client.connection.close();
  }
  return loaded;
}

/** Users, items and ratings into the namespace's store; users and items also onto the log for serving. */
async function loadMovieLensNamespace(
  settings: ScratchSettings,
): Promise<{ users: string[]; items: string[] }> {
  const data = await loadMovieLens(join(settings.cacheDir, 'data', 'ml-100k'));
  const since = data.ratings.reduce((min, r) => Math.min(min, r.timestamp), Number.POSITIVE_INFINITY) * 1000;
  const users = data.users.map((u) => userCreated(u, since));
  const items = data.items.map((i) => itemCreated(i, since));
  const store = await InteractionStore.open(settings.storeDir);
  for (const event of users) store.apply({ stream: 'users', event });
  for (const event of items) store.apply({ stream: 'catalog', event });
  for (const row of data.ratings) store.apply({ stream: 'interactions', event: ratingInteraction(row) });
  await store.commit({});
  await store.close();
  const producer = eventProducer(kafkaClient(settings, 'cairn-bench-serve'));
  await producer.connect();
  await producer.send({
    topic: settings.topics.users,
    messages: users.map((e) => ({ key: e.userId, value: JSON.stringify(e) })),
  });
  await producer.send({
    topic: settings.topics.catalog,
    messages: items.map((e) => ({ key: e.itemId, value: JSON.stringify(e) })),
  });
  await producer.disconnect();
  return { users: data.users.map((u) => u.user), items: data.items.map((i) => i.item) };
}

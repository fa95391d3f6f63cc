/** `cairn demo`: the main job, end to end, with a printed summary. */

import { formatStatus, stackUp } from '../deploy/local/stack';
import type { RecommendResponse } from '../schemas/recommend';
import { searchClient } from '../services/catalog/elasticsearch';
import { similarItems } from '../services/catalog/vector-index';
import type { CairnSettings } from '../services/config/environment';
import { natsConnection } from '../services/config/nats-connection';
import { fetchMovieLens } from '../services/data/fetch';
import { loadMovieLens } from '../services/data/movielens';
import { kafkaClient } from '../services/events/kafka';
import { openModelRegistry } from '../services/registry/model-registry';
import { ServingReplica } from '../services/serving/replica';
import { parseServingConfig } from '../services/serving/serving-config';
import { InteractionStore } from '../services/store/interaction-store';
import { runIngestMovieLens } from './ingest';
import { describeRetrain, runRetrain } from './retrain';

const step = (text: string) => console.log(`\n== ${text}`);

export async function runDemo(settings: CairnSettings): Promise<number> {
  step('stack up');
  console.log(formatStatus(await stackUp(settings)));

  step('data fetch (MovieLens 100K from the recbole package on PyPI)');
  const dir = await fetchMovieLens(settings.cacheDir);
  const data = await loadMovieLens(dir);
  console.log(
    `${dir}: ${data.ratings.length} interactions, ${data.items.length} items, ${data.users.length} users`,
  );

  step('ingest: Temporal workflow ingestMovieLens → Kafka → store projector + catalog indexer');
  const started = Date.now();
  const ingest = await runIngestMovieLens(settings, { inProcess: true, eventsPerSecond: 0 });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    ingest.alreadyIngested
      ? `already ingested by workflow ${ingest.workflowId}: nothing added (${seconds} s)`
      : `workflow ${ingest.workflowId}: ${ingest.interactions} interactions, ${ingest.items} items, ${ingest.users} users in ${seconds} s`,
  );

  step('interaction store (the view training reads)');
  const store = await InteractionStore.open(settings.storeDir);
  const counts = store.counts();
  console.log(
    `${counts.interactions} interactions, ${counts.items} items, ${counts.users} users, checksum ${(await store.checksum()).slice(0, 16)}…`,
  );
  const categories = store.categoryNames
    .map((name, i) => ({ name, count: store.interactionsPerCategory.get(i) }))
    .sort((a, b) => b.count - a.count)
    .slice(0, 5);
  console.log(
    `interactions per category (top 5): ${categories.map((c) => `${c.name} ${c.count}`).join(', ')}`,
  );
  await store.close();

  step('catalog in Elasticsearch: "star" in Sci-Fi');
  const search = searchClient(settings);
  const found = await search.search<{ title: string; categories: string[]; year: number | null }>({
    index: settings.catalogIndex,
    size: 3,
    query: { bool: { must: { match: { title: 'star' } }, filter: { term: { categories: 'Sci-Fi' } } } },
  });
  for (const hit of found.hits.hits)
    console.log(
      `  ${hit._id}  ${hit._source?.title} (${hit._source?.year}) ${hit._source?.categories.join(', ')}`,
    );

  step('retrain: workflow retrain (snapshot → iALS → champion/challenger gate → backfill → promote)');
  for (const line of describeRetrain(await runRetrain(settings, { inProcess: true }))) console.log(line);

  step(`items closest to Star Wars (1977) by kNN over the alias ${settings.itemsAlias}`);
  const neighbours = await similarItems(search, settings.itemsAlias, '50', 5);
  const titles = await search.mget<{ title: string }>({ index: settings.catalogIndex, ids: neighbours });
  for (const doc of titles.docs) if ('_source' in doc) console.log(`  ${doc._id}  ${doc._source?.title}`);

  step(`serving: NATS request-reply on ${settings.recommendSubject}`);
  const nc = await natsConnection(settings);
  const replica = await ServingReplica.start({
    nc,
    search,
    kafka: kafkaClient(settings, 'cairn-demo-serve'),
    registry: await openModelRegistry(nc, settings.registryBucket),
    config: parseServingConfig({}),
    subject: settings.recommendSubject,
    topics: settings.topics,
    itemsAlias: settings.itemsAlias,
    prefix: settings.prefix,
  });
  for (const request of [
    { userId: '1', k: 5 },
    { userId: '1', k: 5, recentItems: ['50', '181'] },
    { userId: 'a-new-user', k: 5 },
  ]) {
    const started = performance.now();
    const reply = JSON.parse(
      (await nc.request(settings.recommendSubject, JSON.stringify(request))).string(),
    ) as RecommendResponse;
    const ms = (performance.now() - started).toFixed(0);
    if (!reply.ok) {
      console.log(`  ${JSON.stringify(request)} → error ${reply.error.code}: ${reply.error.message}`);
      continue;
    }
    const titles = await search.mget<{ title: string }>({
      index: settings.catalogIndex,
      ids: reply.items.map((i) => i.itemId),
    });
    const names = titles.docs.map((d) => ('_source' in d ? d._source?.title : d._id));
    console.log(`  ${JSON.stringify(request)} (${reply.strategy}, ${ms} ms): ${names.join(' · ')}`);
  }
  await replica.drain();
  await nc.close();
  await search.close();

  console.log(
    '\nNext: ./bin/cairn eval (offline evaluation, both protocols, ~5 min; --pipeline adds the ranker)',
  );
  console.log('The stack is still running: ./bin/cairn stack status | ./bin/cairn stack down');
  return 0;
}

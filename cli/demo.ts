/** `cairn demo`: the main job, end to end, with a printed summary. */
import { formatStatus, stackUp } from '../deploy/local/stack';
import { searchClient } from '../services/catalog/elasticsearch';
import type { CairnSettings } from '../services/config/environment';
import { fetchMovieLens } from '../services/data/fetch';
import { loadMovieLens } from '../services/data/movielens';
import { runIngestMovieLens } from './ingest';

export async function runDemo(settings: CairnSettings): Promise<number> {
  const step = (text: string) => console.log(`\n== ${text}`);
  step('stack up');
  console.log(formatStatus(await stackUp(settings)));

  step('data fetch');
  const dir = await fetchMovieLens(settings.cacheDir);
  const data = await loadMovieLens(dir);
  console.log(
    `${dir}: ${data.ratings.length} interactions, ${data.items.length} items, ${data.users.length} users`,
  );

  step('ingest MovieLens (Temporal workflow ingestMovieLens)');
  const started = Date.now();
  const summary = await runIngestMovieLens(settings, { inProcess: true, eventsPerSecond: 0 });
  console.log(
    `${summary.interactions} interactions, ${summary.items} items, ${summary.users} users on the event log and in the store, in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );

  step('catalog sample');
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
  await search.close();
  return 0;
}

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runIngestMovieLens } from '../../cli/ingest';
import { runPipelineWorker } from '../../cli/worker';
import { searchClient } from '../../services/catalog/elasticsearch';
import { exited, spawnCairn } from '../../services/config/cairn-process';
import { scratchNamespace } from '../../services/config/scratch-namespace';
import { kafkaClient } from '../../services/events/kafka';
import { InteractionStore } from '../../services/store/interaction-store';
import { rebuildStore } from '../../services/store/rebuild';
import { waitFor } from '../support/wait';
import { within } from './within';

const movieLens = { interactions: 100_000, impressions: 0, items: 1_682, users: 943 };

test('ingesting ML-100K yields exact counts, a second ingest adds nothing, a rebuild has the same checksum', async () => {
  const settings = await scratchNamespace();
  try {
    const first = await runIngestMovieLens(settings, { inProcess: true, eventsPerSecond: 0 });
    assert.equal(first.alreadyIngested, false);
    assert.deepEqual([first.interactions, first.items, first.users], [100_000, 1_682, 943]);
    const store = await InteractionStore.open(settings.storeDir);
    assert.deepEqual(store.counts(), movieLens);
    const checksum = await store.checksum();
    await store.close();

    const search = searchClient(settings);
    const { count } = await search.count({ index: settings.catalogIndex });
    await search.close();
    assert.equal(count, 1_682, 'one catalog document per item');

    const second = await runIngestMovieLens(settings, { inProcess: true, eventsPerSecond: 0 });
    assert.equal(second.alreadyIngested, true);
    const after = await InteractionStore.open(settings.storeDir);
    assert.deepEqual(after.counts(), movieLens, 'a second ingest changes no count');
    await after.close();

    const rebuilt = await rebuildStore(
      kafkaClient(settings, 'cairn-test'),
      settings.topics,
      settings.storeDir,
      settings.consumerGroups.store,
    );
    assert.deepEqual({ ...rebuilt, checksum: undefined }, { ...rebuilt, ...movieLens, checksum: undefined });
    assert.equal(rebuilt.checksum, checksum, 'the log reproduces the same store');
    assert.equal(rebuilt.rejected, 0);
  } finally {
    await settings.cleanup();
  }
});

test('killing the consumer process mid-ingest and restarting it keeps the counts exact', async () => {
  const settings = await scratchNamespace();
  const startConsumer = () => spawnCairn(settings, ['consume']);
  const appliedInteractions = () => {
    const checkpoint = join(settings.storeDir, 'checkpoint.json');
    return existsSync(checkpoint) ? JSON.parse(readFileSync(checkpoint, 'utf8')).interactionsBytes / 32 : 0;
  };
  let consumer = startConsumer();
  try {
    const ingest = runPipelineWorker(
      settings,
      runIngestMovieLens(settings, { inProcess: false, eventsPerSecond: 25_000 }),
    );
    await waitFor(() => appliedInteractions() >= 10_000, {
      what: 'the consumer process to apply 10,000 interactions',
      timeoutMs: 180_000,
      pollMs: 50,
    });
    consumer.kill('SIGKILL');
    await within(exited(consumer), { what: 'the killed consumer to exit', timeoutMs: 10_000 });
    const atKill = appliedInteractions();
    assert.ok(atKill < movieLens.interactions, `killed mid-ingest (at ${atKill})`);
    consumer = startConsumer();
    const result = await within(ingest, { what: 'the ingest workflow to complete', timeoutMs: 300_000 });
    assert.equal(result?.interactions, movieLens.interactions);
    consumer.kill('SIGTERM');
    await within(exited(consumer), { what: 'the consumer to stop on SIGTERM', timeoutMs: 30_000 });
    const store = await InteractionStore.open(settings.storeDir);
    assert.deepEqual(store.counts(), movieLens);
    await store.close();
  } finally {
    consumer.kill('SIGKILL');
    await settings.cleanup();
  }
});

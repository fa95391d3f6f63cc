/**
 * The ingest workflow when its worker dies: the retried activity must resume each publishing
 * phase where that phase stopped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Admin } from 'kafkajs';
import { startConsumers } from '../../cli/consumers';
import { exited, spawnCairn } from '../../services/config/cairn-process';
import { scratchNamespace } from '../../services/config/scratch-namespace';
import { fetchMovieLens } from '../../services/data/fetch';
import { kafkaClient } from '../../services/events/kafka';
import { temporalClient } from '../../services/orchestration/temporal';
import type { IngestSummary } from '../../workflows/ingest-movielens';
import { waitFor } from '../support/wait';
import { within } from './within';

const movieLens = { interactions: 100_000, impressions: 0, items: 1_682, users: 943 };

async function produced(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, o) => sum + Number(o.high), 0);
}

/** The heartbeat details the server holds for the running activity. */
async function recordedHeartbeat(handle: WorkflowHandle): Promise<unknown> {
  const { raw } = await handle.describe();
  const payload = raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
  return payload === undefined ? undefined : defaultPayloadConverter.fromPayload(payload);
}

/** How many users a users-phase heartbeat says were sent (a bare count: the old shared cursor). */
function usersProgress(details: unknown): number | undefined {
  if (typeof details === 'number') return details;
  const progress = details as { phase?: string; sent?: number } | undefined;
  return progress?.phase === 'users' ? progress.sent : undefined;
}

test('a worker killed while it publishes the catalog: the retry publishes every item, no interaction is dead-lettered', async () => {
  const settings = await scratchNamespace('rty');
  const consumers = await startConsumers(settings);
  const admin = kafkaClient(settings, 'cairn-test').admin();
  await admin.connect();
  const client = await temporalClient(settings);
  let worker = spawnCairn(settings, ['worker']);
  const handle = await client.workflow.start('ingestMovieLens', {
    taskQueue: settings.pipelineTaskQueue,
    workflowId: `${settings.prefix}ingest-retry`,
    // Users and items slowly (about 9 s and 17 s), so heartbeats are recorded during each phase.
    args: [{ dataDir: await fetchMovieLens(settings.cacheDir), eventsPerSecond: 0, entitiesPerSecond: 100 }],
  });
  try {
    // The kill lands mid-catalog, preferably while the last heartbeat the server holds is one
    // of the users phase with a count above the items sent: a retry that took the users' count
    // for the catalog's would then skip items. That window lasts until the next heartbeat goes
    // out (at most 3 s); a kill after it, by 300 items, still checks the catalog resumes.
    const atKill = await waitFor(
      async () => {
        const items = await produced(admin, settings.topics.catalog);
        if (items === 0 || items >= movieLens.items) return undefined;
        const recorded = usersProgress(await recordedHeartbeat(handle));
        return (recorded !== undefined && recorded > items) || items >= 300 ? items : undefined;
      },
      {
        what: 'the catalog publish to be under way behind a users-phase heartbeat',
        timeoutMs: 120_000,
        pollMs: 20,
      },
    );
    worker.kill('SIGKILL');
    await within(exited(worker), { what: 'the killed worker to exit', timeoutMs: 10_000 });
    assert.equal(await produced(admin, settings.topics.users), movieLens.users, 'the users phase was done');
    assert.ok(atKill < movieLens.items, `killed mid-catalog (${atKill} items published)`);
    worker = spawnCairn(settings, ['worker']);

    const summary = (await within(handle.result(), {
      what: 'the ingest to complete on the second worker',
      timeoutMs: 300_000,
      pollMs: 500,
    })) as IngestSummary;
    assert.deepEqual([summary.users, summary.items, summary.interactions], [943, 1_682, 100_000]);
    assert.deepEqual(consumers.store.counts(), movieLens, 'every item and every interaction is in the store');
    assert.equal(consumers.projector.progress.rejected, 0, 'no event was rejected');
    assert.equal(await produced(admin, settings.topics.deadLetter), 0, 'nothing was dead-lettered');
  } finally {
    worker.kill('SIGKILL');
    // Ends the workflow of a failed run; one that completed cannot be terminated and says so.
    await handle.terminate().catch(() => undefined);
    await client.connection.close();
    await admin.disconnect();
    await consumers.stop();
    await settings.cleanup();
  }
});

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { ServingLifetime } from '../../activities/serving';
import { endServing, servingIdentity, untilReplicasListen } from '../../cli/serve';
import type { RecommendResponse } from '../../schemas/recommend';
import { exited, spawnCairn } from '../../services/config/cairn-process';
import type { ScratchSettings } from '../../services/config/scratch-namespace';
import { syntheticItemId, syntheticUserId } from '../../services/data/synthetic';
import { readLoggedEvents } from '../../services/evaluation/logged-events';
import { kafkaClient } from '../../services/events/kafka';
import { ensureTopics } from '../../services/events/topics';
import { temporalClient } from '../../services/orchestration/temporal';
import type { RetrainResult } from '../../workflows/retrain';
import { waitFor } from '../support/wait';
import { retrainNow, trainedNamespace } from './trained-namespace';

let settings: ScratchSettings;
let release: RetrainResult;
let nc: NatsConnection;
const children: ChildProcess[] = [];
const replica = 'cmd';

/**
 * Searches go to Elasticsearch (the catalog is small enough for the in-process search), so
 * requests are really in flight, awaiting I/O, when the replica is told to stop.
 */
let configFile: string;

function serve(): ChildProcess {
  const child = spawnCairn(settings, ['serve', '--replica', replica, '--config', configFile]);
  children.push(child);
  return child;
}

async function ask(request: unknown, timeout = 5_000): Promise<RecommendResponse> {
  return JSON.parse(
    (await nc.request(settings.recommendSubject, JSON.stringify(request), { timeout })).string(),
  );
}

/** Seconds until a replica answers a request. */
async function answering(what: string, timeoutMs = 90_000): Promise<number> {
  const started = Date.now();
  await waitFor(
    async () => {
      try {
        return (await ask({ userId: syntheticUserId(1) }, 1_000)).ok;
      } catch {
        return false;
      }
    },
    { what, timeoutMs, pollMs: 200 },
  );
  return (Date.now() - started) / 1000;
}

before(async () => {
  ({ settings, release } = await trainedNamespace('cmd'));
  configFile = join(settings.storeDir, 'serving.json');
  await writeFile(
    configFile,
    JSON.stringify({ search: 'elasticsearch', searchBudgetMs: 5_000, deadlineMs: 5_000 }),
  );
  nc = await connect({ servers: settings.natsUrl });
});

after(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  const client = await temporalClient(settings);
  await client.workflow
    .getHandle(servingIdentity(settings, replica).workflowId)
    .terminate('test over')
    .catch(() => undefined);
  await client.connection.close();
  await nc?.close();
  await settings?.cleanup();
});

test('cairn serve answers through its Temporal-hosted activity and follows a promotion', async () => {
  serve();
  await answering('cairn serve to answer');
  const first = await ask({ userId: syntheticUserId(2), recentItems: [syntheticItemId(3)] });
  assert.ok(first.ok);
  assert.equal(first.modelVersion, release.release.version);
  const second = await retrainNow(
    settings,
    { ials: { factors: 12, lambda: 5, alpha: 10, epochs: 5, seed: 4 }, gateTolerance: 1 },
    'second',
  );
  const promotedAt = Date.now();
  await waitFor(
    async () => {
      const reply = await ask({ userId: syntheticUserId(2) });
      return reply.ok && reply.modelVersion === second.release.version;
    },
    { what: 'cairn serve to serve the promoted release', timeoutMs: 20_000, pollMs: 100 },
  );
  console.log(
    `promotion served ${((Date.now() - promotedAt) / 1000).toFixed(2)} s after the retrain finished`,
  );
});

test('SIGTERM drains: every request already received is answered, none times out, and the lifetime is recorded', async () => {
  const [child] = children;
  // Open-loop load, 400 requests/s for 1.5 s, with SIGTERM half a second in.
  const outcomes = await new Promise<PromiseSettledResult<RecommendResponse>[]>((resolve) => {
    const load: Promise<PromiseSettledResult<RecommendResponse>>[] = [];
    let n = 0;
    const tick = setInterval(() => {
      for (let i = 0; i < 4; i++, n++)
        load.push(
          ask({ userId: syntheticUserId(n % 300), k: 10 }, 10_000).then(
            (value) => ({ status: 'fulfilled', value }),
            (reason: unknown) => ({ status: 'rejected', reason }),
          ),
        );
      if (n >= 600) {
        clearInterval(tick);
        void Promise.all(load).then(resolve);
      }
    }, 10);
    setTimeout(() => child.kill('SIGTERM'), 500);
  });
  const answered = outcomes.filter((o) => o.status === 'fulfilled' && o.value.ok).length;
  const failed = outcomes
    .filter((o) => o.status === 'rejected')
    .map((o) => String((o as PromiseRejectedResult).reason));
  // Requests sent after the subscription closed find no responder and are told so at once; a time-out would be a lost request.
  assert.deepEqual(
    failed.filter((f) => !/503|no responders/i.test(f)),
    [],
    failed.slice(0, 3).join('\n'),
  );
  console.log(
    `SIGTERM during 600 requests: ${answered} answered, ${outcomes.length - answered - failed.length} refused (overloaded), ${failed.length} told no responder`,
  );
  assert.ok(answered > 0);
  await waitFor(() => child.exitCode !== null || child.signalCode !== null, {
    what: 'cairn serve to exit',
    timeoutMs: 30_000,
  });
  assert.equal(child.exitCode, 0);

  const client = await temporalClient(settings);
  try {
    const history = await client.workflow
      .getHandle(servingIdentity(settings, replica).workflowId)
      .fetchHistory();
    const lifetimes = (history.events ?? [])
      .map((e) => e.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data)
      .filter((data) => data !== undefined && data !== null)
      .map((data) => JSON.parse(Buffer.from(data as Uint8Array).toString()) as ServingLifetime);
    assert.equal(lifetimes.length, 1);
    assert.ok(lifetimes[0].served >= answered, JSON.stringify(lifetimes[0]));
    assert.equal(lifetimes[0].impressionsSent, lifetimes[0].served);
    assert.equal(lifetimes[0].releasesLoaded, 2);
  } finally {
    await client.connection.close();
  }
});

test('a killed replica is brought back by Temporal on the restarted worker', async () => {
  const restarted = serve();
  console.log(`restarted replica answering after ${(await answering('the restarted replica')).toFixed(1)} s`);
  restarted.kill('SIGKILL');
  await exited(restarted);
  serve();
  // The dead lifetime is retried by Temporal once its heartbeat time-out (10 s) has passed.
  const seconds = await answering('Temporal to bring serving back after SIGKILL');
  console.log(`serving back ${seconds.toFixed(1)} s after SIGKILL`);
  assert.ok((await ask({ userId: syntheticUserId(5) })).ok);
});

test('a shadow replica answers on its own subject and logs its slates to its own topic, never as shown', async () => {
  const shadow = 'cmd-shadow';
  const subject = `${settings.recommendSubject}.shadow`;
  const topic = `${settings.prefix}cairn.shadow-impressions.v1`;
  const kafka = kafkaClient(settings, 'serve-command-shadow');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, { ...settings.topics, impressions: topic }, settings.env.CAIRN_TOPIC_PARTITIONS);
  const child = spawnCairn(settings, [
    'serve',
    '--replica',
    shadow,
    '--config',
    configFile,
    '--subject',
    subject,
    '--impressions-topic',
    topic,
  ]);
  children.push(child);
  try {
    await untilReplicasListen(settings, [shadow], 90_000, { failedStart: 'throw' });
    const reply = JSON.parse(
      (
        await nc.request(subject, JSON.stringify({ userId: syntheticUserId(7) }), { timeout: 5_000 })
      ).string(),
    ) as RecommendResponse;
    assert.ok(reply.ok, JSON.stringify(reply));
    const logged = await waitFor(
      async () => {
        const events = await readLoggedEvents(
          kafka,
          {
            impressions: settings.topics.impressions,
            interactions: settings.topics.interactions,
            shadow: topic,
          },
          settings.prefix,
        );
        return events.shadow.some((i) => i.slateId === reply.slateId) ? events : undefined;
      },
      { what: "the shadow slate in the shadow's topic", timeoutMs: 30_000, pollMs: 1_000 },
    );
    assert.equal(logged.impressions.filter((i) => i.slateId === reply.slateId).length, 0);
  } finally {
    child.kill('SIGTERM');
    await exited(child);
    const client = await temporalClient(settings);
    await endServing(client, settings, [shadow], 'test over');
    await client.connection.close();
    // The scratch namespace's cleanup knows only its own topics.
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});

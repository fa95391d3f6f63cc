/**
 * The metrics endpoints of `cairn serve` and `cairn consume`, started as deployed (child
 * processes with CAIRN_METRICS_PORT) against the real stack, answer with every listed series,
 * with values that follow what the test did; and their stderr is JSON lines.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { servingIdentity } from '../../cli/serve';
import type { RecommendResponse } from '../../schemas/recommend';
import { exited } from '../../services/config/cairn-process';
import { readSettings, repositoryRoot } from '../../services/config/environment';
import { natsConnection } from '../../services/config/nats-connection';
import { type ScratchSettings, scratchNamespace } from '../../services/config/scratch-namespace';
import { syntheticItemId, syntheticUserId } from '../../services/data/synthetic';
import { kafkaClient } from '../../services/events/kafka';
import { grantBudget, openBudgetBucket } from '../../services/lifecycle/exploration-budget';
import { explorationBucket } from '../../services/lifecycle/lifecycle-names';
import { temporalClient } from '../../services/orchestration/temporal';
import { itemCreated, userCreated } from '../events/entity-events';
import { trainedNamespace } from '../serving/trained-namespace';
import { freePort } from '../support/free-port';
import { idempotentProducer } from '../support/idempotent-producer';
import { waitFor } from '../support/wait';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format, as far as a test needs it: one sample per line. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (match === null || line.startsWith('#')) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

async function scrape(port: number): Promise<Sample[]> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
  return parseExposition(await response.text());
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);

const has = (samples: Sample[], name: string) => samples.some((s) => s.name === name);

interface CairnChild {
  child: ChildProcess;
  stderr: string[];
}

const children: CairnChild[] = [];

/** `cairn <args>` in the namespace with a metrics port, its stderr kept to check the log format. */
function cairn(settings: ScratchSettings, args: string[], metricsPort: number): CairnChild {
  const child = spawn(join(repositoryRoot, 'bin/cairn'), args, {
    env: {
      ...process.env,
      CAIRN_PREFIX: settings.prefix,
      CAIRN_STORE: settings.storeDir,
      CAIRN_METRICS_PORT: String(metricsPort),
      CAIRN_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  const running = { child, stderr };
  children.push(running);
  return running;
}

/** Each line on stderr is one JSON object with a level and a message. */
function assertJsonLines(stderr: string[], what: string): Record<string, unknown>[] {
  const lines = stderr
    .join('')
    .split('\n')
    .filter((line) => line !== '');
  assert.ok(lines.length > 0, `${what} logged nothing`);
  return lines.map((line) => {
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(line);
    } catch {
      assert.fail(`${what} wrote a line that is not JSON: ${line}`);
    }
    assert.equal(typeof event.level, 'string', line);
    assert.equal(typeof event.msg, 'string', line);
    return event;
  });
}

async function stop({ child }: CairnChild): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited(child);
  clearTimeout(killer);
}

let served: ScratchSettings | undefined;
let consumed: ScratchSettings | undefined;
let worked: ScratchSettings | undefined;
let nc: NatsConnection | undefined;
let budgets: KV | undefined;
const replica = 'metrics';

before(async () => {
  nc = await natsConnection(readSettings());
});

after(async () => {
  for (const running of children) await stop(running);
  if (served !== undefined) {
    const client = await temporalClient(served);
    await client.workflow
      .getHandle(servingIdentity(served, replica).workflowId)
      .terminate('test over')
      .catch(() => undefined);
    await client.connection.close();
  }
  await budgets?.destroy();
  await nc?.close();
  await served?.cleanup();
  await consumed?.cleanup();
  await worked?.cleanup();
});

test('cairn serve: requests, errors by code, stage histograms, degraded, budget spend, in flight, and the Temporal SDK series', async () => {
  ({ settings: served } = await trainedNamespace('obs'));
  const settings = served;
  // Every slate offers its budget slot, so the granted item is shown (and its budget spent) at once.
  const configFile = join(settings.storeDir, 'serving.json');
  await writeFile(configFile, JSON.stringify({ pipeline: { budgetSlotRate: 1 }, deadlineMs: 5_000 }));
  budgets = await openBudgetBucket(nc as NatsConnection, explorationBucket(settings));
  await grantBudget(budgets, syntheticItemId(7), 500);
  const port = await freePort();
  const serve = cairn(settings, ['serve', '--replica', replica, '--config', configFile], port);
  const ask = async (request: unknown): Promise<RecommendResponse> =>
    JSON.parse(
      (
        await (nc as NatsConnection).request(settings.recommendSubject, JSON.stringify(request), {
          timeout: 5_000,
        })
      ).string(),
    );
  let answered = 0;
  await waitFor(
    async () => {
      try {
        if ((await ask({ userId: syntheticUserId(1) })).ok) answered++;
      } catch {
        // No replica yet: the request found no responder or timed out.
      }
      return answered > 0;
    },
    { what: 'cairn serve to answer', timeoutMs: 120_000, pollMs: 250 },
  );
  for (let user = 2; user <= 6; user++) assert.ok((await ask({ userId: syntheticUserId(user) })).ok);
  answered += 5;
  const refusals = [
    [Buffer.from('{not json'), 'invalid_json'],
    [{ k: 10 }, 'missing_user_id'],
    [{ userId: syntheticUserId(1), variant: 'no-such-variant' }, 'unknown_variant'],
  ] as const;
  for (const [request, code] of refusals) {
    const reply = JSON.parse(
      (
        await (nc as NatsConnection).request(
          settings.recommendSubject,
          Buffer.isBuffer(request) ? request : JSON.stringify(request),
          { timeout: 5_000 },
        )
      ).string(),
    ) as RecommendResponse;
    assert.equal(reply.ok ? 'ok' : reply.error.code, code);
  }
  // A lease is taken on the first sight of the budgeted item, in the background: ask until spent.
  let samples = await scrape(port);
  await waitFor(
    async () => {
      if ((await ask({ userId: syntheticUserId(8) })).ok) answered++;
      samples = await scrape(port);
      return value(samples, 'cairn_exploration_budget_spent_total') > 0;
    },
    { what: 'an exploration impression to be spent', timeoutMs: 30_000, pollMs: 100 },
  );

  assert.ok(
    value(samples, 'cairn_recommend_requests_total', { surface: 'homepage', variant: 'control' }) >= answered,
  );
  assert.equal(value(samples, 'cairn_recommend_requests_total', { variant: 'none' }), refusals.length);
  for (const [, code] of refusals)
    assert.equal(value(samples, 'cairn_recommend_errors_total', { code }), 1, code);
  for (const stage of ['candidates', 'filter', 'rank', 'postprocess', 'total']) {
    assert.ok(value(samples, 'cairn_recommend_stage_seconds_count', { stage }) >= answered, stage);
    assert.ok(
      value(samples, 'cairn_recommend_stage_seconds_bucket', { stage, le: '+Inf' }) >= answered,
      stage,
    );
  }
  assert.ok(value(samples, 'cairn_recommend_stage_seconds_sum', { stage: 'total' }) > 0);
  assert.ok(has(samples, 'cairn_recommend_degraded_total'));
  assert.ok(has(samples, 'cairn_recommend_in_flight'));
  assert.ok(value(samples, 'cairn_exploration_budget_spent_total') <= 500);
  assert.ok(has(samples, 'process_cpu_seconds_total'));
  assert.ok(has(samples, 'nodejs_eventloop_lag_p99_seconds'));
  const temporalSeries = new Set(samples.filter((s) => s.name.startsWith('temporal_')).map((s) => s.name));
  assert.ok(temporalSeries.size > 0, 'no temporal_ series');
  console.log(`temporal_ series on cairn serve's endpoint: ${[...temporalSeries].sort().join(', ')}`);

  await stop(serve);
  const events = assertJsonLines(serve.stderr, 'cairn serve');
  assert.ok(events.some((e) => e.msg === 'metrics endpoint listening' && e.temporal === true));
  assert.ok(events.some((e) => e.msg === 'serving'));
});

test('cairn consume: consumer lag per partition of both groups, dead letters by reason, store events, no line per batch', async () => {
  consumed = await scratchNamespace('obsc');
  const settings = consumed;
  const producer = idempotentProducer(kafkaClient(settings, 'cairn-test-metrics'));
  await producer.connect();
  await producer.send({
    topic: settings.topics.users,
    messages: ['u1', 'u2'].map((id) => ({ key: id, value: JSON.stringify(userCreated(id)) })),
  });
  await producer.send({
    topic: settings.topics.catalog,
    messages: ['i1', 'i2'].map((id) => ({ key: id, value: JSON.stringify(itemCreated(id)) })),
  });
  const click = (eventId: string, userId: string) =>
    JSON.stringify({
      eventId,
      type: 'click',
      userId,
      itemId: 'i1',
      occurredAt: Date.now(),
      surface: 'homepage',
    });
  await producer.send({
    topic: settings.topics.interactions,
    messages: [
      { key: 'u1', value: click('c1', 'u1') },
      { key: 'u1', value: '{truncated' },
      { key: 'nobody', value: click('c2', 'nobody') },
    ],
  });
  await producer.disconnect();
  const port = await freePort();
  const consume = cairn(settings, ['consume'], port);
  let samples: Sample[] = [];
  await waitFor(
    async () => {
      try {
        samples = await scrape(port);
      } catch {
        return false;
      }
      return (
        value(samples, 'cairn_deadletters_total') === 2 && value(samples, 'cairn_store_events_total') === 7
      );
    },
    { what: 'cairn consume to project every event', timeoutMs: 120_000, pollMs: 250 },
  ).catch((error: Error) => {
    const counts = samples
      .filter((s) => s.name === 'cairn_store_events_total' || s.name === 'cairn_deadletters_total')
      .map((s) => `${s.name}${JSON.stringify(s.labels)} ${s.value}`);
    throw new Error(
      `${error.message}; last scrape: ${counts.join(', ') || 'none'}; cairn consume's stderr:\n${consume.stderr.join('').slice(-20_000)}`,
    );
  });
  assert.equal(value(samples, 'cairn_deadletters_total', { reason: 'invalid_json' }), 1);
  assert.equal(value(samples, 'cairn_deadletters_total', { reason: 'unknown_user' }), 1);
  assert.equal(value(samples, 'cairn_store_events_total', { outcome: 'applied' }), 5);
  assert.equal(value(samples, 'cairn_store_events_total', { outcome: 'rejected' }), 2);

  const partitions = settings.env.CAIRN_TOPIC_PARTITIONS;
  const lagOf = (group: string, topic: string) =>
    samples.filter(
      (s) => s.name === 'cairn_consumer_lag' && s.labels.group === group && s.labels.topic === topic,
    );
  // The group commits once the store has the batch: wait for lag 0 on every partition.
  await waitFor(
    async () => {
      samples = await scrape(port);
      return samples.filter((s) => s.name === 'cairn_consumer_lag').every((s) => s.value === 0);
    },
    { what: 'the lag to reach 0', timeoutMs: 60_000, pollMs: 250 },
  );
  for (const stream of ['users', 'catalog', 'interactions', 'impressions'] as const) {
    const rows = lagOf(settings.consumerGroups.store, settings.topics[stream]);
    assert.deepEqual(
      rows.map((r) => r.labels.partition).sort(),
      Array.from({ length: partitions }, (_, p) => String(p)),
      stream,
    );
  }
  assert.equal(lagOf(settings.consumerGroups.catalog, settings.topics.catalog).length, partitions);

  await stop(consume);
  const events = assertJsonLines(consume.stderr, 'cairn consume');
  assert.ok(events.some((e) => e.msg === 'consuming'));
  assert.ok(!events.some((e) => e.msg === 'batch projected'), 'a line per batch at info');
});

test("cairn worker: the Temporal SDK's series and the process's own on one endpoint", async () => {
  worked = await scratchNamespace('obsw');
  const port = await freePort();
  const worker = cairn(worked, ['worker'], port);
  let samples: Sample[] = [];
  await waitFor(
    async () => {
      try {
        samples = await scrape(port);
      } catch {
        return false;
      }
      return value(samples, 'temporal_num_pollers') > 0;
    },
    { what: 'cairn worker to poll its task queue', timeoutMs: 120_000, pollMs: 500 },
  );
  assert.ok(has(samples, 'temporal_worker_task_slots_available'));
  assert.ok(has(samples, 'process_resident_memory_bytes'));
  await stop(worker);
  const events = assertJsonLines(worker.stderr, 'cairn worker');
  assert.ok(events.some((e) => e.msg === 'metrics endpoint listening' && e.temporal === true));
});

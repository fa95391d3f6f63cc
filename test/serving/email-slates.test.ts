import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ActivityFailure, ApplicationFailure, type Client, WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type { Kafka, Producer } from 'kafkajs';
import { createEmailActivities } from '../../activities/email';
import { emailCampaignOf } from '../../cli/email';
import { runPipelineWorker } from '../../cli/worker';
import { ageBandLabels, type EmailSlate, emailSlateId, emailSlateSchema } from '../../schemas/email';
import { searchClient } from '../../services/catalog/elasticsearch';
import { exited, spawnCairn } from '../../services/config/cairn-process';
import { natsConnection } from '../../services/config/nats-connection';
import type { ScratchSettings } from '../../services/config/scratch-namespace';
import { syntheticInteractions, syntheticUsers } from '../../services/data/synthetic';
import { readToEnd } from '../../services/events/dead-letter-replay';
import { kafkaClient } from '../../services/events/kafka';
import { ageBand } from '../../services/models/popularity';
import {
  namespaceOf,
  temporalClient,
  workerConnection,
  workerDataConverter,
} from '../../services/orchestration/temporal';
import { openModelRegistry } from '../../services/registry/model-registry';
import { temporalConfig } from '../../temporal.config';
import { type EmailProgress, type EmailSlatesInput, emailProgress } from '../../workflows/email-slates';
import { waitFor } from '../support/wait';
import { servingData, trainedNamespace } from './trained-namespace';

/** Every slate on the namespace's email topic, in log order per user. */
async function slatesOnTopic(settings: ScratchSettings): Promise<EmailSlate[]> {
  const slates: EmailSlate[] = [];
  await readToEnd(
    kafkaClient(settings, 'cairn-test-email'),
    `${settings.prefix}email-read`,
    [{ topic: settings.topics.emailSlates, from: 0n }],
    (message) => {
      slates.push(emailSlateSchema.parse(JSON.parse(message.value?.toString('utf8') ?? '')));
    },
  );
  return slates;
}

const synthetic = {
  users: [...syntheticUsers(servingData)],
  interactions: [...syntheticInteractions(servingData)],
};

function seenBy(userId: string): Set<string> {
  return new Set(synthetic.interactions.filter((i) => i.userId === userId).map((i) => i.itemId));
}

/** A Kafka whose producers fail their `failAt`-th send once: a broker lost mid-batch. */
function failingOnce(kafka: Kafka, failAt: number): Kafka {
  let sends = 0;
  return Object.create(kafka, {
    producer: {
      value: (...args: Parameters<Kafka['producer']>): Producer => {
        const producer = kafka.producer(...args);
        const send = producer.send.bind(producer);
        producer.send = async (record) => {
          if (++sends === failAt) throw new Error('injected: the broker went away mid-batch');
          return send(record);
        };
        return producer;
      },
    },
  }) as Kafka;
}

/**
 * A `cairn worker` process of the namespace. Its snapshots live under its CAIRN_STATE, so the
 * release's training snapshot is copied there (the scratch namespace keeps them in a temp dir).
 */
async function spawnWorker(settings: ScratchSettings): Promise<ChildProcess> {
  const state = await mkdtemp(join(tmpdir(), 'cairn-test-email-state-'));
  stateDirs.push(state);
  await cp(settings.snapshotsDir, join(state, 'snapshots'), { recursive: true });
  const previous = process.env.CAIRN_STATE;
  process.env.CAIRN_STATE = state;
  try {
    return spawnCairn(settings, ['worker']);
  } finally {
    if (previous === undefined) delete process.env.CAIRN_STATE;
    else process.env.CAIRN_STATE = previous;
  }
}
const stateDirs: string[] = [];

describe('email slates', () => {
  let settings: ScratchSettings;
  let client: Client;

  before(async () => {
    ({ settings } = await trainedNamespace('email'));
    client = await temporalClient(settings);
  });

  after(async () => {
    await client?.connection.close();
    await settings?.cleanup();
    for (const dir of stateDirs) await rm(dir, { recursive: true, force: true });
  });

  const start = (id: string, input: EmailSlatesInput) =>
    client.workflow.start('emailSlates', {
      taskQueue: settings.pipelineTaskQueue,
      workflowId: `${settings.prefix}email-${id}`,
      workflowExecutionTimeout: '5 minutes',
      args: [input],
    });

  it('a cohort segment gets exactly one slate per user of the cohort, none with a seen item, and progress reaches done', async () => {
    const cohort = { kind: 'cohort' as const, gender: 'F', ageBand: '25-34' as const };
    const expected = synthetic.users
      .filter(
        (u) => u.demographics.gender === 'F' && ageBandLabels[ageBand(u.demographics.age ?? 0)] === '25-34',
      )
      .map((u) => u.userId);
    assert.ok(expected.length > 10, `${expected.length} users in the cohort`);
    // Small batches and runs: the campaign continues as new twice or more and keeps its cursor.
    const handle = await start('cohort', {
      segment: cohort,
      k: 10,
      batchSize: 4,
      campaign: 'spring',
      batchesPerRun: 2,
    });
    // A finished workflow answers queries through a worker that replays it.
    const latest = client.workflow.getHandle(handle.workflowId);
    const finished = await runPipelineWorker(
      settings,
      handle.result().then(async (result) => ({ result, progress: await latest.query(emailProgress) })),
    );
    assert.ok(finished !== undefined);
    const { result, progress } = finished;
    assert.equal(result.users, expected.length);
    assert.deepEqual(progress, {
      users: expected.length,
      done: expected.length,
      batches: Math.ceil(expected.length / 4),
      failed: 0,
    });
    const { runId } = await client.workflow.getHandle(handle.workflowId).describe();
    assert.notEqual(runId, handle.firstExecutionRunId, 'the campaign continued as new');

    const slates = (await slatesOnTopic(settings)).filter((s) => s.campaign === 'spring');
    assert.deepEqual(slates.map((s) => s.userId).sort(), [...expected].sort());
    for (const slate of slates) {
      assert.equal(slate.slateId, emailSlateId('spring', slate.userId));
      assert.equal(slate.releaseVersion, result.release);
      assert.equal(slate.items.length, 10);
      assert.ok(slate.items.every((i) => !i.reasons.exploration));
      const seen = seenBy(slate.userId);
      const shownSeen = slate.items.filter((i) => seen.has(i.itemId)).map((i) => i.itemId);
      assert.deepEqual(shownSeen, [], `${slate.userId} was sent items they had seen`);
    }
  });

  it('an active segment holds the users seen within its days of the newest interaction; a list gets exactly its users, one the release does not know included', async (t) => {
    const days = 3;
    const newest = Math.max(...synthetic.interactions.map((i) => i.occurredAt));
    const active = new Set(
      synthetic.interactions.filter((i) => i.occurredAt >= newest - days * 86_400_000).map((i) => i.userId),
    );
    assert.ok(active.size > 0 && active.size < servingData.userCount, `${active.size} active users`);
    const listed = ['su7', 'su3', 'not-in-the-release'];
    const activeRun = await start('active', {
      segment: { kind: 'active', days },
      k: 5,
      batchSize: 50,
      campaign: 'active',
    });
    const listedRun = await start('listed', {
      segment: { kind: 'users', userIds: listed },
      k: 5,
      batchSize: 2,
      campaign: 'listed',
    });
    await runPipelineWorker(settings, Promise.all([activeRun.result(), listedRun.result()]));
    const slates = await slatesOnTopic(settings);
    const usersOf = (campaign: string) => slates.filter((s) => s.campaign === campaign).map((s) => s.userId);
    assert.deepEqual(usersOf('active').sort(), [...active].sort());
    const times = slates.filter((s) => s.campaign === 'active').map((s) => s.composedAt);
    t.diagnostic(
      `${times.length} active users' slates composed within ${Math.max(...times) - Math.min(...times)} ms (first to last, batches of 50)`,
    );
    assert.deepEqual(new Set(usersOf('listed')), new Set(listed));
    const cold = slates.find((s) => s.userId === 'not-in-the-release');
    assert.equal(cold?.items.length, 5, 'a user the release does not know gets a cold-start slate');
  });

  it('a batch whose send fails mid-way resumes after its last heartbeat: every user once, no slate re-sent', async () => {
    const nats = await natsConnection(settings);
    const search = searchClient(settings);
    const connection = await workerConnection(settings);
    const email = createEmailActivities({
      // The second send of the process fails: the first batch's second chunk of 50.
      kafka: failingOnce(kafkaClient(settings, 'cairn-test-email-worker'), 2),
      search,
      registry: await openModelRegistry(nats, settings.registryBucket),
      topics: settings.topics,
      itemsAlias: settings.itemsAlias,
      prefix: settings.prefix,
      snapshotsDir: settings.snapshotsDir,
    });
    try {
      const worker = await Worker.create({
        connection,
        namespace: namespaceOf(settings),
        taskQueue: settings.pipelineTaskQueue,
        workflowsPath: require.resolve('../../workflows'),
        activities: email.activities,
        ...temporalConfig.worker,
        dataConverter: workerDataConverter,
      });
      const handle = await start('resume', {
        segment: { kind: 'all' },
        k: 5,
        batchSize: 120,
        campaign: 'resume',
      });
      const result = await worker.runUntil(handle.result());
      assert.equal(result.users, servingData.userCount);
      assert.equal(result.done, servingData.userCount);
      const history = await handle.fetchHistory();
      const failedAttempts = (history.events ?? []).filter(
        (e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1,
      );
      assert.equal(failedAttempts.length, 1, 'one batch was retried');
    } finally {
      await email.close();
      await connection.close();
      await search.close();
      await nats.close();
    }
    const slates = (await slatesOnTopic(settings)).filter((s) => s.campaign === 'resume');
    const users = slates.map((s) => s.userId);
    assert.equal(new Set(users).size, servingData.userCount, 'every user got a slate');
    assert.equal(users.length, servingData.userCount, 'the retried attempt re-sent nothing already sent');
    assert.ok(slates.every((s) => s.slateId === emailSlateId('resume', s.userId)));
  });

  it('a worker killed mid-run leaves no user out, and its re-sent slates repeat their slate ids', async (t) => {
    const batchSize = 5;
    const handle = await start('killed', { segment: { kind: 'all' }, k: 5, batchSize, campaign: 'killed' });
    const child = await spawnWorker(settings);
    try {
      const reached = await waitFor(
        async () => {
          const p = await handle.query<EmailProgress>(emailProgress).catch(() => undefined);
          return p !== undefined && p.done >= 4 * batchSize ? p : undefined;
        },
        { what: 'the spawned worker to finish four batches', timeoutMs: 180_000, pollMs: 50 },
      );
      child.kill('SIGKILL');
      assert.ok(reached.done < reached.users, `killed at ${reached.done} of ${reached.users}: mid-run`);
      t.diagnostic(`worker killed with ${reached.done} of ${reached.users} users done`);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited(child);
    }
    // Temporal hands the dead worker's batch to this one once its heartbeat times out.
    const result = await runPipelineWorker(settings, handle.result());
    assert.equal(result?.done, servingData.userCount);
    const slates = (await slatesOnTopic(settings)).filter((s) => s.campaign === 'killed');
    const byId = new Map<string, string>();
    for (const s of slates) {
      assert.equal(byId.get(s.slateId) ?? s.userId, s.userId, 'one slate id, one user');
      byId.set(s.slateId, s.userId);
    }
    assert.equal(byId.size, servingData.userCount, 'after dedupe by slate id, one slate per user');
    t.diagnostic(
      `${slates.length} slates sent for ${byId.size} users (${slates.length - byId.size} re-sent)`,
    );
    assert.ok(
      slates.length - byId.size <= batchSize,
      `${slates.length - byId.size} re-sent slates: at most the killed batch`,
    );
  });

  it('an invalid segment fails the campaign with a non-retryable EmailCampaignError, and the CLI refuses it', async () => {
    const handle = await start('invalid', {
      segment: { kind: 'cohort' },
      k: 10,
      batchSize: 10,
      campaign: 'invalid',
    } as unknown as EmailSlatesInput);
    const failure = await runPipelineWorker(
      settings,
      handle.result().then(
        () => undefined,
        (error: unknown) => error,
      ),
    );
    assert.ok(failure instanceof WorkflowFailedError);
    assert.ok(failure.cause instanceof ActivityFailure);
    const cause = failure.cause.cause;
    assert.ok(cause instanceof ApplicationFailure);
    assert.equal(cause.type, 'EmailCampaignError');
    assert.equal(cause.nonRetryable, true);
    assert.match(cause.message, /a cohort names at least one of gender, ageBand, occupation/);

    assert.equal(
      emailCampaignOf({ segment: 'active:soon' }),
      'segment.days: Invalid input: expected number, received string',
    );
    const cli = spawnCairn(settings, ['email', '--segment', 'cohort:height=180']);
    await waitFor(() => cli.exitCode !== null || cli.signalCode !== null, {
      what: 'cairn email to refuse',
      timeoutMs: 60_000,
    }).finally(() => {
      if (cli.exitCode === null) cli.kill('SIGKILL');
    });
    await exited(cli);
    assert.equal(cli.exitCode, 2);
  });
});

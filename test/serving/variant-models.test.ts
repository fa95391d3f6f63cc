import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { WorkflowNotFoundError } from '@temporalio/client';
import { servingIdentity } from '../../cli/serve';
import type { RecommendResponse, RecommendSlate } from '../../schemas/recommend';
import { searchClient } from '../../services/catalog/elasticsearch';
import { pinLeaseMs, pinnedIndexes } from '../../services/catalog/index-pins';
import { indexName, publishVectorIndex } from '../../services/catalog/vector-index';
import { repositoryRoot } from '../../services/config/environment';
import type { ScratchSettings } from '../../services/config/scratch-namespace';
import { syntheticUserId } from '../../services/data/synthetic';
import { readLoggedEvents } from '../../services/evaluation/logged-events';
import { kafkaClient } from '../../services/events/kafka';
import { temporalClient } from '../../services/orchestration/temporal';
import { openModelRegistry } from '../../services/registry/model-registry';
import { replicaAddresses, ServingReplica } from '../../services/serving/replica';
import { parseServingConfig, ServingConfigError } from '../../services/serving/serving-config';
import { retrievalFamily } from '../../services/training/families';
import type { RetrainResult } from '../../workflows/retrain';
import { waitFor } from '../support/wait';
import { retrainNow, servingData, trainedNamespace } from './trained-namespace';

let settings: ScratchSettings;
let first: RetrainResult;
let second: RetrainResult;
let nc: NatsConnection;
let replica: ServingReplica;
const served: RecommendSlate[] = [];

const configPinning = (release: string) =>
  parseServingConfig({
    variants: [
      { name: 'control', share: 0.5 },
      { name: 'pinned', share: 0.5, models: { release } },
    ],
    championPollMs: 300,
    // The catalog is small enough for the in-process search: force each release's own index.
    search: 'elasticsearch',
    // The shared machine is busy during tests: the budget must not turn every answer degraded.
    searchBudgetMs: 2_000,
    deadlineMs: 5_000,
  });

async function startReplica(release: string): Promise<ServingReplica> {
  return ServingReplica.start({
    nc,
    search: searchClient(settings),
    kafka: kafkaClient(settings, 'cairn-test-variant-models'),
    registry: await openModelRegistry(nc, settings.registryBucket),
    config: configPinning(release),
    ...replicaAddresses(settings),
    log: () => undefined,
  });
}

async function ask(request: object): Promise<RecommendSlate> {
  const reply = JSON.parse(
    (await nc.request(settings.recommendSubject, JSON.stringify(request), { timeout: 10_000 })).string(),
  ) as RecommendResponse;
  assert.ok(reply.ok, JSON.stringify(reply));
  served.push(reply);
  return reply;
}

/** What a slate of `version` names: the retrieval model, and the ranker where it won its gate. */
const versionsOf = (release: RetrainResult) => {
  const version = release.release.version;
  return release.release.ranker?.won ? { retrieval: version, ranker: version } : { retrieval: version };
};

/** Every user's slate, in parallel batches; the variants seen. */
async function askEveryUser(users: number): Promise<RecommendSlate[]> {
  const slates: RecommendSlate[] = [];
  for (let u = 0; u < users; u += 20)
    slates.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(20, users - u) }, (_, i) => ask({ userId: syntheticUserId(u + i) })),
      )),
    );
  return slates;
}

before(async () => {
  ({ settings, release: first } = await trainedNamespace('vmod'));
  nc = await connect({ servers: settings.natsUrl });
  replica = await startReplica(first.release.version);
});

after(async () => {
  await nc?.close();
  await settings?.cleanup();
});

test('a config pinning a release the registry does not hold is refused at start, naming the variant', async () => {
  await assert.rejects(
    startReplica('no-such-release'),
    (error: unknown) =>
      error instanceof ServingConfigError &&
      error.message.includes("variant 'pinned' pins release 'no-such-release'") &&
      error.message.includes(first.release.version),
  );
});

test('cairn serve refuses a config pinning an unknown release, exit 1, before it starts a serving workflow', async () => {
  const configFile = join(settings.storeDir, 'serving-pinning-unknown.json');
  await writeFile(
    configFile,
    JSON.stringify({
      variants: [
        { name: 'control', share: 0.5 },
        { name: 'pinned', share: 0.5, models: { release: 'no-such-release' } },
      ],
    }),
  );
  const replicaName = 'vmod-unknown';
  const child = spawn(
    join(repositoryRoot, 'bin/cairn'),
    ['serve', '--replica', replicaName, '--config', configFile],
    {
      env: { ...process.env, CAIRN_PREFIX: settings.prefix, CAIRN_STORE: settings.storeDir },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => {
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, 90_000);
    child.once('exit', (exitCode) => {
      clearTimeout(deadline);
      resolve(exitCode);
    });
  });
  assert.equal(code, 1, `cairn serve still running or exited ${code}: ${stderr}`);
  assert.match(stderr, /variant 'pinned' pins release 'no-such-release'/);
  const client = await temporalClient(settings);
  try {
    await assert.rejects(
      client.workflow.getHandle(servingIdentity(settings, replicaName).workflowId).describe(),
      WorkflowNotFoundError,
    );
  } finally {
    await client.connection.close();
  }
});

test('the pinned variant stays on its release when the champion is promoted; the other follows', async () => {
  for (const slate of await askEveryUser(40)) assert.deepEqual(slate.modelVersions, versionsOf(first));

  second = await retrainNow(
    settings,
    { ials: { factors: 24, lambda: 5, alpha: 10, epochs: 6, seed: 2 }, gateTolerance: 1 },
    'second',
  );
  assert.equal(second.decision.promote, true, second.decision.reason);
  assert.notEqual(second.release.version, first.release.version);
  await waitFor(() => replica.counters().release === second.release.version, {
    what: 'the replica to load the new champion',
    timeoutMs: 30_000,
  });
  assert.deepEqual(replica.counters().pinnedReleases, [first.release.version]);

  const byVariant = new Map<string, number>();
  for (const slate of await askEveryUser(servingData.userCount)) {
    byVariant.set(slate.variant, (byVariant.get(slate.variant) ?? 0) + 1);
    const expected = slate.variant === 'pinned' ? first : second;
    assert.equal(slate.modelVersion, expected.release.version, `${slate.userId} in ${slate.variant}`);
    assert.deepEqual(slate.modelVersions, versionsOf(expected), `${slate.userId} in ${slate.variant}`);
    assert.equal(slate.degraded, false, slate.degradedReasons.join());
  }
  assert.ok(
    (byVariant.get('pinned') ?? 0) > 100 && (byVariant.get('control') ?? 0) > 100,
    `${[...byVariant]}`,
  );

  // A user's variant is forced, their release follows it.
  const user = syntheticUserId(11);
  assert.deepEqual((await ask({ userId: user, variant: 'pinned' })).modelVersions, versionsOf(first));
  assert.deepEqual((await ask({ userId: user, variant: 'control' })).modelVersions, versionsOf(second));
});

test('a backfill’s pruning spares the index of the release a serving replica pins, for the pin’s lease', async () => {
  const es = searchClient(settings);
  const indexOf = (release: RetrainResult) =>
    indexName(settings.itemsAlias, `${retrievalFamily}-${release.release.version}`);
  try {
    // As a third release's backfill would: keep only the newest index.
    const deleted = await publishVectorIndex(es, settings.itemsAlias, indexOf(second), 1);
    assert.ok(!deleted.includes(indexOf(first)), `deleted ${deleted.join()}`);
    assert.equal(await es.indices.exists({ index: indexOf(first) }), true);
    const pinned = await pinnedIndexes(es, `${settings.itemsAlias}-*`, Date.now());
    assert.deepEqual([...pinned], [indexOf(first)]);
    const afterLease = await pinnedIndexes(es, `${settings.itemsAlias}-*`, Date.now() + pinLeaseMs + 60_000);
    assert.equal(afterLease.size, 0, 'a pin no replica renews ends with its lease');
  } finally {
    await es.close();
  }
  const slate = await ask({ userId: syntheticUserId(5), variant: 'pinned' });
  assert.deepEqual(slate.modelVersions, versionsOf(first));
  assert.equal(slate.degraded, false, slate.degradedReasons.join());
});

test('each impression on the topic carries its slate’s variant and the versions it came from', async () => {
  const counters = await replica.drain();
  assert.equal(counters.impressionsSent, counters.served, JSON.stringify(counters));
  const expected = new Map(served.filter((s) => s.items.length > 0).map((s) => [s.slateId, s]));
  // Every impression was sent before drain returned: reading the topic to its end finds them all.
  const logged = await readLoggedEvents(
    kafkaClient(settings, 'cairn-test-variant-impressions'),
    settings.topics,
    settings.prefix,
  );
  assert.equal(logged.invalid, 0);
  const got = new Map(logged.impressions.map((i) => [i.slateId, i]));
  assert.equal(got.size, expected.size);
  const versions = new Set<string>();
  for (const [slateId, slate] of expected) {
    const impression = got.get(slateId);
    assert.equal(impression?.variant, slate.variant);
    assert.deepEqual(impression?.modelVersions, slate.modelVersions);
    versions.add(`${slate.variant} ${slate.modelVersion}`);
  }
  // Before the promotion both variants served the first release, after it only the pinned one.
  assert.equal(versions.size, 3, [...versions].join('; '));
});

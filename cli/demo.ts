/**
 * `cairn demo`: the main job end to end, in its own namespace (`demo.` after CAIRN_PREFIX, with its
 * own store), so it never mixes with other data on the servers:
 * stack up → data fetch → ingest the temporal protocol's train period → retrain → serve two A/B
 * variants (and the challenger in shadow) → replay a sample of the test period as live traffic
 * over NATS, with simulated clicks flowing back through Kafka into sessions and lifecycles, while
 * new items arrive → read the A/B test and the off-policy estimate back from the topics → report.
 * A second run reuses the install, the ingest and the release (the retrain ran on the train period
 * only; a new one would also learn the earlier replay's clicks).
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Admin, Kafka } from 'kafkajs';
import { formatStatus, parseServerNames, stackDown, stackStatus, stackUp } from '../deploy/local/stack';
import type { Impression } from '../schemas/events';
import type { RecommendResponse, RecommendSlate } from '../schemas/recommend';
import { exited, spawnCairn } from '../services/config/cairn-process';
import { type CairnSettings, readSettings } from '../services/config/environment';
import { natsConnection } from '../services/config/nats-connection';
import { fetchMovieLens } from '../services/data/fetch';
import { loadMovieLens, movieLensFiles } from '../services/data/movielens';
import { analyseAb } from '../services/evaluation/ab-analysis';
import { estimatePolicyValue, loggedSlatesOf, slotKey } from '../services/evaluation/counterfactual';
import { readLoggedEvents } from '../services/evaluation/logged-events';
import { runOfflineEvaluation } from '../services/evaluation/offline';
import { splitInteractions } from '../services/evaluation/splits';
import { eventProducer, kafkaClient } from '../services/events/kafka';
import { ensureTopics, topicNames } from '../services/events/topics';
import { terminateLifecycles } from '../services/lifecycle/lifecycle-cleanup';
import { CatalogLifecycles, CountSignaller } from '../services/lifecycle/lifecycle-consumers';
import { lifecycleGroups, lifecycleWorkflowId } from '../services/lifecycle/lifecycle-names';
import { mulberry32 } from '../services/models/random';
import type { Interaction } from '../services/models/types';
import { temporalClient } from '../services/orchestration/temporal';
import { realtimeConfig, sessionBucket, sessionGroup } from '../services/realtime/realtime-config';
import { SessionConsumer } from '../services/realtime/session-consumer';
import { openSessionBucket, SessionView } from '../services/realtime/session-store';
import { openModelRegistry } from '../services/registry/model-registry';
import {
  type DemoReportData,
  type LifecycleTimeline,
  renderDemoReport,
} from '../services/report/demo-report';
import { clickModel, planReplay, simulateClicks } from '../services/report/replay-plan';
import { slateQuality } from '../services/report/slate-quality';
import { newestSoakRecord } from '../services/report/soak-report';
import { parseServingConfig } from '../services/serving/serving-config';
import { retrievalFamily } from '../services/training/families';
import { temporalConfig } from '../temporal.config';
import type { LifecycleView } from '../workflows/item-lifecycle';
import type { RetrainResult } from '../workflows/retrain';
import { runIngestMovieLens } from './ingest';
import { describeRetrain, runRetrain } from './retrain';
import { endServing, untilReplicasListen } from './serve';
import { runPipelineWorker } from './worker';

export interface DemoOptions {
  /** Leave the servers the demo started running. */
  keepStack: boolean;
  /** Test users replayed. */
  users: number;
}

const requestsPerUser = 4;
/**
 * Requests are sent at this rate whatever the replies do (open loop): a closed loop as fast as
 * replies come measures the process at saturation, and its latency is the queue it builds.
 */
const requestsPerSecond = 40;
const newItems = 3;
const seed = 11;

/** The A/B test: the champion pipeline against a more diverse, less popularity-driven challenger. */
const variants = {
  control: {},
  challenger: { mmrLambda: 0.6, weights: { popularity: 0.1 } },
};

/** One line that rewrites itself on a terminal (a line every 5 s elsewhere), with the elapsed time. */
function statusLine(label: string) {
  const started = Date.now();
  let text = '';
  let printed = 0;
  const tty = process.stdout.isTTY === true;
  const draw = () => {
    const line = `[${label}] ${text} (${((Date.now() - started) / 1000).toFixed(0)} s)`;
    if (tty) process.stdout.write(`\r\x1b[2K${line}`);
    else if (Date.now() - printed >= 5_000) {
      printed = Date.now();
      console.log(line);
    }
  };
  const timer = setInterval(draw, 500);
  return {
    set(next: string) {
      text = next;
    },
    done(final: string) {
      clearInterval(timer);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (tty) process.stdout.write('\r\x1b[2K');
      console.log(`[${label}] ${final} (${seconds} s)`);
    },
  };
}

const step = (text: string) => console.log(`\n== ${text}`);

/** The demo's namespace: its own topics, groups, indexes, workflows and store. */
export function demoSettings(settings: CairnSettings): CairnSettings {
  return readSettings({
    ...process.env,
    CAIRN_PREFIX: `${settings.prefix}demo.`,
    CAIRN_STORE: join(settings.stateDir, `${settings.prefix}demo-store`),
  });
}

/** The train part of the temporal protocol as a MovieLens directory, for the ingest workflow. */
async function trainPeriodDataset(
  sourceDir: string,
  target: string,
  train: readonly Interaction[],
): Promise<void> {
  const files = movieLensFiles(sourceDir);
  const out = movieLensFiles(target);
  if (existsSync(out.ratings)) return;
  await mkdir(target, { recursive: true });
  await copyFile(files.items, out.items);
  await copyFile(files.users, out.users);
  const [header] = (await readFile(files.ratings, 'utf8')).split('\n', 1);
  const rows = [...train]
    .sort((a, b) => a.timestamp - b.timestamp)
    .map((i) => `${i.user}\t${i.item}\t${i.rating}\t${i.timestamp}`);
  await writeFile(`${out.ratings}.tmp`, `${header}\n${rows.join('\n')}\n`);
  await copyFile(`${out.ratings}.tmp`, out.ratings);
}

/**
 * Consumer groups that must only see what happens from the replay on (the ingested catalog is
 * established, not new; the train period is history, not a session) start at the log's end
 * the first time; later runs continue from their commits.
 */
async function startAtLogEnd(admin: Admin, groupId: string, topics: string[]): Promise<void> {
  const committed = await admin.fetchOffsets({ groupId, topics });
  if (committed.some((t) => t.partitions.some((p) => Number(p.offset) >= 0))) return;
  for (const topic of topics) {
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({
      groupId,
      topic,
      partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })),
    });
  }
}

interface ServedRequest {
  slate: RecommendSlate;
  roundTripMs: number;
  clicks: number;
}

interface ReplayOutcome {
  served: ServedRequest[];
  slateIds: Set<string>;
  startedAt: number;
  lifecycles: LifecycleTimeline[];
  clickToEffectMs: number[];
  clickToEffectNote?: string;
  errors: number;
  shadowSlates: Map<string, Map<string, number>>;
  /** Control requests the shadow replica did not answer (their slates are left out of the estimate). */
  shadowMisses: number;
  /** From the first request to the last lifecycle observation. */
  seconds: number;
}

async function replay(
  settings: CairnSettings,
  nc: NatsConnection,
  kafka: Kafka,
  data: Awaited<ReturnType<typeof loadMovieLens>>,
  plan: ReturnType<typeof planReplay>,
  shadowSubject: string,
  sessions: SessionView | undefined,
): Promise<ReplayOutcome> {
  const temporal = await temporalClient(settings);
  const producer = eventProducer(kafka);
  await producer.connect();
  const random = mulberry32(seed);
  const runTag = randomUUID().slice(0, 8);
  const startedAt = Date.now();
  const served: ServedRequest[] = [];
  const slateIds = new Set<string>();
  const clickedByUser = new Map<string, Set<string>>();
  const reReleaseOf = new Map<string, string>();
  const timelines = new Map<string, LifecycleTimeline>();
  const clickToEffectMs: number[] = [];
  let errors = 0;
  let clicks = 0;
  /** The challenger's answer to each control request, by the control slate it shadows. */
  const shadowSlates = new Map<string, Map<string, number>>();
  let shadowMisses = 0;
  const pending: { key: string; value: string }[] = [];
  const flush = async () => {
    const batch = pending.splice(0);
    if (batch.length > 0) await producer.send({ topic: settings.topics.interactions, messages: batch });
  };
  const flusher = setInterval(() => void flush(), 100);

  // New items arrive as the replay starts and at 20% and 40% of it, early enough to explore: re-releases of popular
  // held-out items, so some test users want them.
  const popularHeldOut = [...plan.heldOut.values()]
    .flatMap((m) => [...m.keys()])
    .reduce((counts, item) => counts.set(item, (counts.get(item) ?? 0) + 1), new Map<string, number>());
  const sources = [...popularHeldOut.entries()].sort((a, b) => b[1] - a[1]).slice(0, newItems);
  const arrivals = sources.map(([source], n) => ({
    at: Math.floor(0.2 * n * plan.requests.length),
    itemId: `new-${runTag}-${n + 1}`,
    source,
  }));
  const publishNewItem = async (itemId: string, source: string) => {
    const item = data.items.find((i) => i.item === source);
    const title = `${item?.title ?? source} (re-release)`;
    await producer.send({
      topic: settings.topics.catalog,
      messages: [
        {
          key: itemId,
          value: JSON.stringify({
            type: 'item_created',
            eventId: `demo-${itemId}`,
            itemId,
            occurredAt: Date.now(),
            title,
            categories: item?.genres ?? [],
            year: new Date().getUTCFullYear(),
            text: '',
            qualityFlags: [],
          }),
        },
      ],
    });
    reReleaseOf.set(itemId, source);
    timelines.set(itemId, {
      itemId,
      title,
      stages: [],
      budgetGranted: temporalConfig.lifecycle.explorationBudget,
      impressions: 0,
      interactions: 0,
    });
  };
  const observeLifecycles = async () => {
    for (const t of timelines.values()) {
      const view = await temporal.workflow
        .getHandle(lifecycleWorkflowId(settings, t.itemId))
        .query<LifecycleView>('state')
        .catch(() => undefined);
      if (view === undefined) continue;
      if (t.stages.at(-1)?.stage !== view.stage)
        t.stages.push({ stage: view.stage, at: (Date.now() - startedAt) / 1000 });
      t.impressions = view.impressions;
      t.interactions = view.interactions;
    }
  };
  // One observation at a time: a query waits for the worker in this same busy process.
  let observing = false;
  const observer = setInterval(() => {
    if (observing) return;
    observing = true;
    void observeLifecycles().finally(() => {
      observing = false;
    });
  }, 2_000);

  const status = statusLine('replay');
  const effects: Promise<void>[] = [];
  const measureEffect = (userId: string, itemId: string, sentAt: number) => {
    if (sessions === undefined) return;
    effects.push(
      (async () => {
        while (Date.now() - sentAt < 15_000) {
          if (sessions.session(userId)?.recent.includes(itemId) === true) {
            clickToEffectMs.push(Date.now() - sentAt);
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })(),
    );
  };

  /** `due`: when the request was to be sent; a late send is the server's delay too. */
  const one = async (index: number, due: number) => {
    const request = plan.requests[index];
    const body = JSON.stringify({ userId: request.userId, k: 10 });
    const reply = JSON.parse(
      (await nc.request(settings.recommendSubject, body, { timeout: 10_000 })).string(),
    ) as RecommendResponse;
    const roundTripMs = performance.now() - due;
    if (!reply.ok) {
      errors++;
      return;
    }
    if (reply.variant === 'control') {
      const answer = await nc
        .request(shadowSubject, body, { timeout: 10_000 })
        .then((m) => JSON.parse(m.string()) as RecommendResponse)
        .catch(() => undefined);
      if (answer?.ok === true)
        shadowSlates.set(
          reply.slateId,
          new Map(answer.items.map((i) => [slotKey(i.itemId, i.rank - 1), i.propensity])),
        );
      else shadowMisses++;
    }
    slateIds.add(reply.slateId);
    const clicked = clickedByUser.get(request.userId) ?? new Set<string>();
    clickedByUser.set(request.userId, clicked);
    const slateClicks = simulateClicks(
      reply.items.map((i) => i.itemId),
      plan.heldOut.get(request.userId) ?? new Map(),
      clicked,
      reReleaseOf,
      random,
    );
    const now = Date.now();
    for (const c of slateClicks) {
      const base = {
        userId: request.userId,
        itemId: c.itemId,
        occurredAt: now,
        surface: 'homepage',
        slateId: reply.slateId,
      };
      pending.push({
        key: request.userId,
        value: JSON.stringify({
          ...base,
          type: 'click',
          eventId: `demo-${runTag}-${reply.slateId}-${c.itemId}`,
        }),
      });
      if (c.rating !== undefined)
        pending.push({
          key: request.userId,
          value: JSON.stringify({
            ...base,
            type: 'rating',
            value: c.rating,
            eventId: `demo-${runTag}-${reply.slateId}-${c.itemId}-r`,
          }),
        });
      if (clicks++ % 4 === 0) measureEffect(request.userId, c.itemId, now);
    }
    served.push({ slate: reply, roundTripMs, clicks: slateClicks.length });
  };

  try {
    // The first new item arrives before the traffic; its lifecycle answering says the pipeline
    // worker in this process is running, so the lifecycles are followed from the start.
    const [first] = arrivals;
    if (first !== undefined) {
      status.set('first new item: waiting for its lifecycle (the pipeline worker starts)');
      await publishNewItem(first.itemId, first.source);
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline && timelines.get(first.itemId)?.stages.length === 0) {
        await observeLifecycles();
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      first.at = -1;
    }
    const inFlight: Promise<void>[] = [];
    const start = performance.now();
    for (let index = 0; index < plan.requests.length; index++) {
      const arrival = arrivals.find((a) => a.at === index);
      if (arrival !== undefined) await publishNewItem(arrival.itemId, arrival.source);
      const due = start + (index * 1000) / requestsPerSecond;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      inFlight.push(
        one(index, due).then(
          () =>
            status.set(
              `${served.length}/${plan.requests.length} requests, ${clicks} clicks, ${timelines.size} new items, ${errors} errors`,
            ),
          () => {
            errors++;
          },
        ),
      );
    }
    await Promise.all(inFlight);
    await flush();
    status.set('waiting for the last clicks to reach sessions and lifecycles');
    await Promise.all(effects);
    await new Promise((resolve) => setTimeout(resolve, temporalConfig.lifecycle.signalIntervalMs + 2_000));
    await observeLifecycles();
    status.done(`${served.length} slates served, ${clicks} clicks, ${errors} errors`);
  } finally {
    clearInterval(flusher);
    clearInterval(observer);
    // A later run would otherwise find them fresh, explore them and restart their lifecycles.
    if (reReleaseOf.size > 0)
      await producer.send({
        topic: settings.topics.catalog,
        messages: [...reReleaseOf.keys()].map((itemId) => ({
          key: itemId,
          value: JSON.stringify({
            type: 'item_retired',
            eventId: `demo-${itemId}-retired`,
            itemId,
            occurredAt: Date.now(),
          }),
        })),
      });
    await producer.disconnect();
    await temporal.connection.close();
  }
  return {
    served,
    slateIds,
    startedAt,
    lifecycles: [...timelines.values()],
    clickToEffectMs,
    clickToEffectNote: sessions === undefined ? 'the session state did not start' : undefined,
    errors,
    shadowSlates,
    shadowMisses,
    seconds: (Date.now() - startedAt) / 1000,
  };
}

export async function runDemo(base: CairnSettings, options: DemoOptions): Promise<number> {
  const demoStarted = Date.now();
  const settings = demoSettings(base);
  step('stack up');
  const before = new Set((await stackStatus(base)).filter((r) => r.healthy).map((r) => r.name));
  const rows = await stackUp(base);
  console.log(formatStatus(rows));
  const startedHere = parseServerNames(
    rows.filter((r) => r.where === 'local' && !before.has(r.name)).map((r) => r.name),
  );
  try {
    return await mainJob(base, settings, options, demoStarted);
  } finally {
    if (options.keepStack || startedHere.length === 0)
      console.log(
        startedHere.length === 0
          ? 'The stack was already running before the demo: left as it was.'
          : `The stack stays up (--keep-stack): ./bin/cairn stack down stops it.`,
      );
    else {
      step(`stack down: ${startedHere.join(', ')} (started by the demo; --keep-stack keeps them)`);
      for (const line of await stackDown(base, startedHere)) console.log(line);
    }
  }
}

async function mainJob(
  base: CairnSettings,
  settings: CairnSettings,
  options: DemoOptions,
  demoStarted: number,
): Promise<number> {
  step('data fetch and the temporal split (per user: earliest 80% train, latest 20% test)');
  const dir = await fetchMovieLens(base.cacheDir);
  const data = await loadMovieLens(dir);
  const interactions: Interaction[] = data.ratings.map((r) => ({
    user: r.user,
    item: r.item,
    timestamp: r.timestamp,
    rating: r.rating,
  }));
  const split = splitInteractions('temporal', interactions, 42);
  const trainDir = join(base.cacheDir, 'data', 'ml-100k-temporal-train');
  await trainPeriodDataset(dir, trainDir, split.train);
  console.log(
    `${data.ratings.length} ratings: ${split.train.length} train (ingested), ${split.test.length} test (replayed as traffic)`,
  );

  step(
    `ingest the train period into namespace '${settings.prefix}': workflow ingestMovieLens → Kafka → store + catalog index`,
  );
  const ingestStatus = statusLine('ingest');
  ingestStatus.set('workflow ingestMovieLens');
  const ingest = await runIngestMovieLens(settings, {
    inProcess: true,
    eventsPerSecond: 0,
    dataDir: trainDir,
  });
  ingestStatus.done(
    ingest.alreadyIngested
      ? `already ingested by ${ingest.workflowId}: reused`
      : `${ingest.interactions} interactions, ${ingest.items} items, ${ingest.users} users`,
  );

  step('retrain on the train period: snapshot → iALS → gate → backfill → promote');
  const retrainFile = join(settings.stateDir, 'demo', `${settings.prefix}retrain.json`);
  const nc = await natsConnection(settings);
  const registry = await openModelRegistry(nc, settings.registryBucket);
  /** `configFile` gives a new release of the same snapshot (a release's version is its snapshot and config). */
  const retrainNow = async (configFile?: string): Promise<RetrainResult> => {
    const retrainStatus = statusLine('retrain');
    retrainStatus.set('workflow retrain');
    const result = await runRetrain(settings, { inProcess: true, configFile });
    retrainStatus.done('done');
    await mkdir(join(settings.stateDir, 'demo'), { recursive: true });
    await writeFile(retrainFile, JSON.stringify(result));
    return result;
  };
  let retrain: RetrainResult;
  const champion = await registry.champion(retrievalFamily);
  const reused = existsSync(retrainFile) && champion !== undefined;
  if (reused) {
    retrain = JSON.parse(await readFile(retrainFile, 'utf8')) as RetrainResult;
    console.log(
      `reused the release of the first run (${champion.version}), trained on the train period (replays do not write the demo's store)`,
    );
  } else retrain = await retrainNow();
  for (const line of describeRetrain(retrain)) console.log(line);

  step('serve: A/B split control | challenger (50/50), the challenger also in shadow on control traffic');
  const kafka = kafkaClient(settings, 'cairn-demo');
  const shadowTopic = `${settings.prefix}cairn.shadow-impressions.v1`;
  const shadowSubject = `${settings.prefix}cairn.recommend.shadow.v1`;
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(
    admin,
    { ...topicNames(settings.prefix), impressions: shadowTopic },
    settings.env.CAIRN_TOPIC_PARTITIONS,
  );
  await startAtLogEnd(admin, lifecycleGroups(settings).catalog, [settings.topics.catalog]);
  await startAtLogEnd(admin, lifecycleGroups(settings).counts, [
    settings.topics.impressions,
    settings.topics.interactions,
  ]);
  await startAtLogEnd(admin, sessionGroup(settings), [settings.topics.interactions]);
  await admin.disconnect();
  // Each replay starts with no sessions: an earlier run's clicks would otherwise count as seen
  // and filter the very held-out items this run is scored on.
  await openSessionBucket(nc, sessionBucket(settings), realtimeConfig.sessionTtlMs).then((kv) =>
    kv.destroy(),
  );

  const plan = planReplay(split.test, options.users, requestsPerUser, seed);
  const serveStatus = statusLine('serve');
  serveStatus.set('session state, lifecycle consumers, replicas');
  const temporal = await temporalClient(settings);
  const lifecycleDeps = { kafka, temporal, settings };
  const catalogLifecycles = new CatalogLifecycles(lifecycleDeps);
  const counts = new CountSignaller(lifecycleDeps, { intervalMs: temporalConfig.lifecycle.signalIntervalMs });
  let sessionConsumer: SessionConsumer | undefined = new SessionConsumer({
    kafka,
    nats: nc,
    settings,
    log: () => {},
  });
  let sessions: SessionView | undefined;
  try {
    await sessionConsumer.start();
    sessions = await SessionView.open(nc, sessionBucket(settings), realtimeConfig.sessionTtlMs);
  } catch (error) {
    console.log(`session state not started (${(error as Error).message}): served without sessions`);
    await sessionConsumer.stop().catch(() => undefined);
    sessionConsumer = undefined;
  }
  // The replicas are 'cairn serve' processes, as deployed: their latency is a replica's own, not
  // that of a process that also replays the traffic, consumes the topics and runs the lifecycles.
  const replicas = [
    {
      name: 'replica',
      config: {
        variants: [
          { name: 'control', share: 0.5, params: variants.control },
          { name: 'challenger', share: 0.5, params: variants.challenger },
        ],
      },
      args: [],
    },
    {
      name: 'shadow',
      config: { variants: [{ name: 'challenger', share: 1, params: variants.challenger }] },
      args: ['--subject', shadowSubject, '--impressions-topic', shadowTopic],
    },
  ];
  const replicaNames = replicas.map((r) => r.name);
  // An earlier run stopped abruptly leaves its serving workflows waiting for these replicas.
  await endServing(temporal, settings, replicaNames, 'a new demo run');
  const startReplicas = async (): Promise<ChildProcess[]> => {
    const processes: ChildProcess[] = [];
    await mkdir(join(settings.stateDir, 'demo'), { recursive: true });
    for (const replica of replicas) {
      const configFile = join(settings.stateDir, 'demo', `serving-${replica.name}.json`);
      await writeFile(configFile, JSON.stringify(parseServingConfig(replica.config)));
      processes.push(
        spawnCairn(settings, ['serve', '--config', configFile, '--replica', replica.name, ...replica.args]),
      );
    }
    const exitedEarly = Promise.race(processes.map(exited)).then(() => {
      throw new Error("a 'cairn serve' process exited before it listened");
    });
    // Heard only through the race below; once they listen, an exit is the demo stopping them.
    exitedEarly.catch(() => undefined);
    try {
      await Promise.race([
        untilReplicasListen(settings, replicaNames, 120_000, { failedStart: 'throw' }),
        exitedEarly,
      ]);
      return processes;
    } catch (error) {
      await stopReplicas(processes);
      throw error;
    }
  };
  const stopReplicas = async (processes: ChildProcess[]) => {
    for (const p of processes) p.kill('SIGTERM');
    await Promise.all(processes.map(exited));
    await endServing(temporal, settings, replicaNames, 'demo ended');
  };
  const servers = await startReplicas().catch(async (error: unknown) => {
    if (!reused) throw error;
    console.log(
      `the first run's release cannot be served by this version (${(error as Error).message}): a new release of the same train period`,
    );
    const configFile = join(settings.stateDir, 'demo', 'retrain-config.json');
    await writeFile(configFile, JSON.stringify({ ials: { seed: Date.now() % 1_000_000 } }));
    retrain = await retrainNow(configFile);
    for (const line of describeRetrain(retrain)) console.log(line);
    return startReplicas();
  });
  await Promise.all([catalogLifecycles.start(), counts.start()]);
  serveStatus.done(
    `'cairn serve' replica and shadow processes serving release ${(await registry.champion(retrievalFamily))?.version ?? '(none)'}; sessions ${sessions === undefined ? 'off' : 'on'}; lifecycle consumers on`,
  );

  step(
    `replay: ${plan.requests.length} requests of ${plan.users.length} test users in time order, clicks by a position-based model`,
  );
  let outcome: ReplayOutcome;
  try {
    outcome = (await runPipelineWorker(
      settings,
      replay(settings, nc, kafka, data, plan, shadowSubject, sessions),
    )) as ReplayOutcome;
  } finally {
    await stopReplicas(servers);
    await Promise.all([catalogLifecycles.stop(), counts.stop(), sessionConsumer?.stop(), sessions?.close()]);
    // Nothing drives the demo's lifecycles once it has ended; --keep-stack keeps them to inspect.
    if (!options.keepStack)
      console.log(
        `ended ${await terminateLifecycles(temporal, settings.pipelineTaskQueue, 'demo ended')} item lifecycles of the demo's namespace`,
      );
    await temporal.connection.close();
  }

  step('analysis: the A/B test and the off-policy estimate, read back from the topics');
  const readStatus = statusLine('analysis');
  readStatus.set('reading cairn.impressions.v1, cairn.interactions.v1 and the shadow impressions');
  const events = await readLoggedEvents(
    kafka,
    {
      impressions: settings.topics.impressions,
      interactions: settings.topics.interactions,
      shadow: shadowTopic,
    },
    settings.prefix,
  );
  const ofRun = (i: Impression) => outcome.slateIds.has(i.slateId);
  const impressions = events.impressions.filter(ofRun);
  const runEvents = events.interactions.filter(
    (i) => i.slateId !== undefined && outcome.slateIds.has(i.slateId),
  );
  const ab = analyseAb(impressions, runEvents, { control: 'control', alpha: 0.05, confidence: 0.95 });
  // Paired by slate here; the shadow topic (what 'cairn evaluate-policy' reads) pairs by user and order.
  const logged = loggedSlatesOf(
    impressions.filter((i) => i.variant === 'control'),
    runEvents,
    (i) => outcome.shadowSlates.get(i.slateId),
  );
  const estimate = logged.length === 0 ? undefined : estimatePolicyValue(logged);
  const challengerCtr = ab.variants.find((v) => v.variant === 'challenger')?.ctr;
  readStatus.done(
    `${impressions.length} impressions, ${runEvents.length} clicks and ratings, ${outcome.shadowSlates.size} shadow slates (${outcome.shadowMisses} unanswered)`,
  );

  step(
    'offline evaluation: popularity, EASE, iALS, EASE+iALS on both protocols (hyperparameters fixed, no tuning)',
  );
  const offlineStatus = statusLine('offline');
  offlineStatus.set('fitting');
  const offline = await runOfflineEvaluation(interactions, {
    threads: 2,
    grids: {
      ease: [{ lambda: 400, recencyHalfLife: undefined }],
      ials: [{ factors: 64, lambda: 30, alpha: 2, epochs: 10, recencyHalfLife: undefined }],
      blendEaseWeight: [0.5],
    },
    log: (line) => offlineStatus.set(line.slice(0, 80)),
  });
  offlineStatus.done('done');
  const offlineRows = Object.entries(offline.metrics).flatMap(([protocol, models]) =>
    Object.entries(models).map(([model, m]) => ({
      protocol,
      model,
      ndcgAt10: m['ndcg@10'] ?? 0,
      recallAt10: m['recall@10'] ?? 0,
    })),
  );

  const popularity = new Map<string, number>();
  for (const i of split.train) popularity.set(i.item, (popularity.get(i.item) ?? 0) + 1);
  const quality = slateQuality(
    outcome.served.map((s) => ({
      variant: s.slate.variant,
      userId: s.slate.userId,
      items: s.slate.items.map((i) => i.itemId),
      clicks: s.clicks,
    })),
    {
      heldOut: new Map([...plan.heldOut].map(([u, m]) => [u, new Set(m.keys())])),
      categories: new Map(data.items.map((i) => [i.item, i.genres])),
      popularity,
      trainInteractions: split.train.length,
      catalogSize: data.items.length + outcome.lifecycles.length,
    },
  );
  const stageMeansMs: Record<string, number> = {};
  for (const stage of ['candidates', 'filter', 'rank', 'postprocess'] as const)
    stageMeansMs[stage] =
      outcome.served.reduce((sum, s) => sum + s.slate.timings[stage], 0) / Math.max(1, outcome.served.length);
  const report: DemoReportData = {
    generatedAt: new Date().toISOString(),
    setup: [
      `Namespace '${settings.prefix}' on the local stack; MovieLens 100K, temporal protocol (per user the earliest 80% train, the latest 20% test).`,
      `Models fitted on the train period only (the ingest published only it); the retrain's release serves.`,
      `Replay: ${plan.users.length} test users sampled (seed ${seed}), up to ${requestsPerUser} homepage requests each at the times of their held-out interactions, ${plan.requests.length} requests in time order, sent at ${requestsPerSecond} per second whatever the replies do.`,
      `Click model (position-based): P(click at rank r) = r^-${clickModel.examinationExponent} × attraction; attraction ${clickModel.relevantAttraction} for a held-out item not yet clicked, ${clickModel.otherAttraction} otherwise; a click on a held-out item is followed by its held-out rating (≥ 4 is a conversion).`,
      `Variants: control = the default pipeline; challenger = ${JSON.stringify(variants.challenger)}; users split 50/50 by salted hash. The challenger also answers control's requests in shadow (logged to ${shadowTopic}, never shown).`,
      `${outcome.lifecycles.length} new items (re-releases of the most held-out items) arrive as the replay starts and at 20% and 40% of it.`,
    ],
    offline: offlineRows,
    slateQuality: quality,
    latency: { totalMs: outcome.served.map((s) => s.roundTripMs), stageMeansMs },
    ab,
    counterfactual:
      estimate === undefined || challengerCtr === undefined
        ? undefined
        : { logged: 'control', candidate: 'challenger', estimate, measured: challengerCtr },
    lifecycles: outcome.lifecycles,
    replaySeconds: outcome.seconds,
    clickToEffectMs: outcome.clickToEffectMs,
    clickToEffectNote: outcome.clickToEffectNote,
    gate: {
      decision: `${retrain.decision.promote ? 'PROMOTE' : 'REFUSE'}: ${retrain.decision.reason}`,
      lines: describeRetrain(retrain),
    },
    soak: await newestSoakRecord(join(base.stateDir, 'reports')),
  };
  const reportDir = join(base.stateDir, 'reports');
  await mkdir(reportDir, { recursive: true });
  const reportFile = join(reportDir, `demo-${report.generatedAt.replace(/[:.]/g, '-')}.html`);
  const reportStatus = statusLine('report');
  reportStatus.set('rendering charts');
  await writeFile(reportFile, await renderDemoReport(report));
  reportStatus.done(reportFile);
  await nc.close();

  step('summary');
  for (const line of summary(report, outcome, (Date.now() - demoStarted) / 1000)) console.log(line);
  console.log(`\nreport: ${reportFile}`);
  return 0;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

function summary(report: DemoReportData, outcome: ReplayOutcome, seconds: number): string[] {
  const lines = ['variant     slates  CTR [95% CI]            conv.   NDCG@10  coverage  diversity  novelty'];
  for (const v of report.ab.variants) {
    const q = report.slateQuality.find((x) => x.variant === v.variant);
    lines.push(
      `${v.variant.padEnd(10)}${String(v.slates).padStart(8)}  ${`${pct(v.ctr.rate)} [${pct(v.ctr.low)}, ${pct(v.ctr.high)}]`.padEnd(24)}${pct(v.conversion.rate).padStart(6)}  ${(q?.ndcgAt10 ?? 0).toFixed(4).padStart(7)}  ${pct(q?.coverage ?? 0).padStart(8)}  ${(q?.diversity ?? 0).toFixed(3).padStart(9)}  ${(q?.novelty ?? 0).toFixed(2).padStart(7)}`,
    );
  }
  for (const c of report.ab.comparisons) lines.push(`A/B: ${c.verdict}`);
  const cf = report.counterfactual;
  if (cf !== undefined)
    lines.push(
      `off-policy (challenger from control's log): IPS ${pct(cf.estimate.ips.value)} [${pct(cf.estimate.ips.low)}, ${pct(cf.estimate.ips.high)}], SNIPS ${pct(cf.estimate.snips.value)} [${pct(cf.estimate.snips.low)}, ${pct(cf.estimate.snips.high)}]; measured ${pct(cf.measured.rate)}`,
    );
  const sorted = [...report.latency.totalMs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  lines.push(
    `latency (NATS, from when each request was due to its reply): p50 ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms; ${outcome.errors} errors`,
  );
  // A reason's first figure varies per slate (time taken or left), the rest (the deadline) not:
  // reasons are counted by kind, the varying figure shown as its range.
  const reasons = new Map<string, { count: number; figures: number[] }>();
  for (const { slate } of outcome.served)
    for (const reason of slate.degradedReasons) {
      const figure = /[0-9.]+(?= ?ms)/.exec(reason);
      const kind = figure === null ? reason : reason.replace(figure[0], '#');
      const seen = reasons.get(kind) ?? { count: 0, figures: [] };
      seen.count++;
      if (figure !== null) seen.figures.push(Number(figure[0]));
      reasons.set(kind, seen);
    }
  const range = (figures: number[]) => {
    const [low, high] = [Math.min(...figures), Math.max(...figures)].map((f) => Number(f.toFixed(1)));
    return low === high ? `${low}` : `${low}–${high}`;
  };
  const degraded = outcome.served.filter(({ slate }) => slate.degraded).length;
  lines.push(
    `degraded slates (the request's deadline or a search fallback): ${degraded} of ${outcome.served.length}` +
      (reasons.size === 0
        ? ''
        : ` (${[...reasons].map(([kind, { count, figures }]) => `${figures.length === 0 ? kind : kind.replace('#', range(figures))}: ${count}`).join('; ')})`),
  );
  const effect = [...outcome.clickToEffectMs].sort((a, b) => a - b);
  lines.push(
    effect.length === 0
      ? `click-to-effect: not measured${outcome.clickToEffectNote === undefined ? '' : ` (${outcome.clickToEffectNote})`}`
      : `click-to-effect (click published → in the session bucket the replicas follow): p50 ${effect[Math.floor(effect.length / 2)]} ms, p95 ${effect[Math.min(effect.length - 1, Math.floor(0.95 * effect.length))]} ms over ${effect.length} clicks`,
  );
  for (const l of report.lifecycles)
    lines.push(
      `new item ${l.itemId} "${l.title}": ${l.stages.map((s) => `${s.stage}@${s.at.toFixed(0)}s`).join(' → ') || 'no lifecycle seen'}; ${l.impressions}/${l.budgetGranted} budget impressions, ${l.interactions} interactions`,
    );
  lines.push(`retrain gate: ${report.gate.decision}`);
  lines.push(`wall time ${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`);
  return lines;
}

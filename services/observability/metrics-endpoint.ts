/**
 * This process's HTTP endpoint that Prometheus scrapes (CAIRN_METRICS_PORT; 0, the default,
 * serves none). A process that runs a Temporal worker also answers with the SDK's own
 * `temporal_` series: the SDK's exporter serves them on a loopback port of its own and the
 * endpoint appends them, so one scrape target per process has everything.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { CairnSettings } from '../config/environment';
import { freePort } from '../config/free-port';
import { installTemporalRuntime } from '../orchestration/temporal';
import { log } from './log';
import { metricsRegistry } from './metrics';

export interface MetricsEndpoint {
  /** http://host:port/metrics */
  url: string;
  close(): Promise<void>;
}

/** A scrape must not wait on an SDK exporter that does not answer. */
const temporalScrapeTimeoutMs = 2_000;

/**
 * Turns on the Temporal SDK's Prometheus exporter on a free loopback port and returns how to
 * read it; undefined when the runtime was installed before (it takes its telemetry only then).
 */
async function temporalSdkMetrics(): Promise<(() => Promise<string>) | undefined> {
  const port = await freePort();
  if (!installTemporalRuntime(`127.0.0.1:${port}`)) {
    log.warn('the Temporal runtime was installed before the metrics endpoint: temporal_ series are left out');
    return undefined;
  }
  return async () => {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
      signal: AbortSignal.timeout(temporalScrapeTimeoutMs),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return response.text();
  };
}

async function exposition(sdk: (() => Promise<string>) | undefined): Promise<string> {
  const own = await metricsRegistry.metrics();
  if (sdk === undefined) return own;
  try {
    return `${own}\n${await sdk()}`;
  } catch (error) {
    // Cairn's own series are still worth a scrape when the SDK's exporter is not.
    log.warn({ err: error }, 'reading the Temporal SDK metrics failed');
    return own;
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(`CAIRN_METRICS_PORT: cannot listen on ${host}:${port} (${error.code ?? error.message})`),
      ),
    );
    server.listen(port, host, () => resolve());
  });
}

/**
 * Starts this process's metrics endpoint, or nothing when CAIRN_METRICS_PORT is 0. A process
 * with a Temporal worker passes `temporal`, and must call this before its first worker
 * connection: the SDK's runtime is installed once per process.
 */
export async function serveMetrics(
  settings: CairnSettings,
  { temporal }: { temporal: boolean },
): Promise<MetricsEndpoint | undefined> {
  const { CAIRN_METRICS_PORT: port, CAIRN_METRICS_HOST: host } = settings.env;
  if (port === 0) return undefined;
  const sdk = temporal ? await temporalSdkMetrics() : undefined;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics\n');
      return;
    }
    exposition(sdk).then(
      (text) => response.writeHead(200, { 'content-type': metricsRegistry.contentType }).end(text),
      (error: unknown) => {
        log.error({ err: error }, 'collecting metrics failed');
        response.writeHead(500, { 'content-type': 'text/plain' }).end(`${(error as Error).message}\n`);
      },
    );
  });
  await listen(server, port, host);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`;
  log.info({ url, temporal: sdk !== undefined }, 'metrics endpoint listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

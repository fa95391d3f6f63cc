/** Temporal connections built from settings. */
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { temporalConfig } from '../../temporal.config';
import { type CairnSettings, readPem } from '../config/environment';
import { log } from '../observability/log';

export const namespaceOf = (settings: CairnSettings) =>
  settings.env.TEMPORAL_NAMESPACE ?? temporalConfig.namespace;

/** The frontend's address and, when any TLS setting is given, TLS (mTLS with a client certificate). */
export function temporalConnection(settings: CairnSettings): { address: string; tls?: TLSConfig } {
  const { env } = settings;
  const pem = (path: string | undefined, variable: string) =>
    path === undefined ? undefined : Buffer.from(readPem(path, variable));
  const cert = pem(env.TEMPORAL_TLS_CERT, 'TEMPORAL_TLS_CERT');
  const key = pem(env.TEMPORAL_TLS_KEY, 'TEMPORAL_TLS_KEY');
  const ca = pem(env.TEMPORAL_TLS_CA, 'TEMPORAL_TLS_CA');
  if (cert === undefined && ca === undefined && env.TEMPORAL_TLS_SERVER_NAME === undefined)
    return { address: settings.temporalAddress };
  return {
    address: settings.temporalAddress,
    tls: {
      ...(env.TEMPORAL_TLS_SERVER_NAME === undefined
        ? {}
        : { serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME }),
      ...(ca === undefined ? {} : { serverRootCACertificate: ca }),
      ...(cert === undefined || key === undefined ? {} : { clientCertPair: { crt: cert, key } }),
    },
  };
}

export async function temporalClient(settings: CairnSettings): Promise<Client> {
  const connection = await Connection.connect(temporalConnection(settings));
  return new Client({ connection, namespace: namespaceOf(settings) });
}

/** Every Cairn worker's: failures are recorded with secrets masked (redacting-failure-converter.ts). */
export const workerDataConverter = {
  failureConverterPath: require.resolve('./redacting-failure-converter'),
};

let runtimeInstalled = false;

/**
 * At info the SDK would add its worker state changes and its webpack build output: its lines
 * start at warn unless debug or trace asks for everything.
 */
const temporalLevels = { trace: 'TRACE', debug: 'DEBUG', info: 'WARN', warn: 'WARN' } as const;

/**
 * The SDK's log (worker state changes, activity and workflow log calls) goes into the process's
 * structured log at its level, where secrets are masked: a failed activity's line quotes its
 * error whole. `metricsAddress` turns on the SDK's Prometheus exporter there. The runtime takes
 * these only when it is installed, once per process, before any worker connection: false when
 * it already was.
 */
export function installTemporalRuntime(metricsAddress?: string): boolean {
  if (runtimeInstalled) return false;
  runtimeInstalled = true;
  const level = temporalLevels[log.level as keyof typeof temporalLevels] ?? 'ERROR';
  Runtime.install({
    logger: new DefaultLogger(level, ({ level, message, meta }) =>
      log[level.toLowerCase() as Lowercase<typeof level>]({ ...meta, source: 'temporal' }, message),
    ),
    telemetryOptions: {
      // The SDK core's own lines too, instead of its text on stderr.
      logging: { forward: {}, filter: { core: level, other: 'ERROR' } },
      ...(metricsAddress === undefined
        ? {}
        : {
            metrics: {
              prometheus: {
                bindAddress: metricsAddress,
                countersTotalSuffix: true,
                unitSuffix: true,
                useSecondsForDurations: true,
              },
            },
          }),
    },
  });
  return true;
}

export function workerConnection(settings: CairnSettings): Promise<NativeConnection> {
  installTemporalRuntime();
  return NativeConnection.connect(temporalConnection(settings));
}

/** Temporal connections built from settings. */
import { inspect } from 'node:util';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { temporalConfig } from '../../temporal.config';
import { type CairnSettings, readPem } from '../config/environment';
import { redactSecrets } from '../config/redaction';

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
 * Worker state changes are logged at INFO by default; Cairn's workers log only what needs a look,
 * and with secrets masked: a failed activity's log line quotes its error whole.
 */
function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: new DefaultLogger(
      (process.env.CAIRN_LOG_LEVEL as 'WARN' | undefined) ?? 'WARN',
      ({ level, timestampNanos, message, meta }) => {
        const when = new Date(Number(timestampNanos / 1_000_000n)).toISOString();
        const details = meta === undefined ? '' : ` ${inspect(meta)}`;
        process.stderr.write(`${redactSecrets(`${when} [${level}] ${message}${details}`)}\n`);
      },
    ),
  });
}

export function workerConnection(settings: CairnSettings): Promise<NativeConnection> {
  installRuntime();
  return NativeConnection.connect(temporalConnection(settings));
}

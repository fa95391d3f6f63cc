/** The one place NATS connections are made: servers, credentials and TLS from the settings. */
import { type ConnectionOptions, connect, type NatsConnection } from '@nats-io/transport-node';
import { type CairnSettings, readPem } from './environment';

export function natsOptions(settings: CairnSettings): ConnectionOptions {
  const { env } = settings;
  const tls = env.NATS_TLS_CA !== undefined || settings.natsUrl.startsWith('tls://');
  return {
    servers: settings.natsUrl.split(',').map((url) => url.replace(userInfo, '//')),
    ...credentialsInUrl(settings.natsUrl),
    ...(env.NATS_USER === undefined ? {} : { user: env.NATS_USER, pass: env.NATS_PASSWORD }),
    ...(env.NATS_TOKEN === undefined ? {} : { token: env.NATS_TOKEN }),
    // The CA is read here so a missing file is a clear error, not a failed handshake.
    ...(tls
      ? { tls: env.NATS_TLS_CA === undefined ? {} : { ca: readPem(env.NATS_TLS_CA, 'NATS_TLS_CA') } }
      : {}),
  };
}

const userInfo = /\/\/[^/@\s,]+@/;

/**
 * nats.js ignores credentials in a URL (nats://user:password@host, nats://token@host): they are
 * taken out and passed as options, the first URL's for all (one cluster, one account).
 */
function credentialsInUrl(urls: string): Pick<ConnectionOptions, 'user' | 'pass' | 'token'> {
  const match = /\/\/([^:/@\s,]+)(?::([^/@\s,]*))?@/.exec(urls);
  if (match === null) return {};
  const [, name, password] = match;
  return password === undefined
    ? { token: decodeURIComponent(name) }
    : { user: decodeURIComponent(name), pass: decodeURIComponent(password) };
}

/** `extra` adds to the settings' options (time-outs, reconnect policy) for one caller. */
export function natsConnection(
  settings: CairnSettings,
  extra: ConnectionOptions = {},
): Promise<NatsConnection> {
  return connect({ ...natsOptions(settings), ...extra });
}

/**
 * NATS with a user, a password and TLS: a private nats-server started by the stack launcher on
 * its own port and state directory (the shared one is never touched). Cairn's connection helper
 * gets in with the settings; without them the error says why; no output shows the password.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stackDown, stackUp } from '../../deploy/local/stack';
import { type CairnSettings, ConfigError, readSettings } from '../../services/config/environment';
import { natsConnection } from '../../services/config/nats-connection';
import { redactSecrets, redactUrl } from '../../services/config/redaction';
import { freePort } from '../support/free-port';
import { type Certificates, cairnWith, makeCertificates } from './tls-fixture';

const password = 'pw-Zq81-not-for-logs';
let certificates: Certificates;
let stateDir: string;
let env: Record<string, string>;
let settings: CairnSettings;

before(async () => {
  certificates = await makeCertificates();
  stateDir = await mkdtemp(join(tmpdir(), 'cairn-test-nats-auth-'));
  env = {
    CAIRN_STATE: stateDir,
    CAIRN_NATS_PORT: String(await freePort()),
    NATS_USER: 'cairn',
    NATS_PASSWORD: password,
    NATS_TLS_CA: certificates.ca,
    CAIRN_NATS_SERVER_CERT: certificates.serverCert,
    CAIRN_NATS_SERVER_KEY: certificates.serverKey,
  };
  settings = readSettings(env);
  await stackUp(settings, ['nats']);
});

after(async () => {
  await stackDown(settings, ['nats']);
  await rm(stateDir, { recursive: true, force: true });
  await certificates.remove();
});

test('the launcher keeps the credentials in a file only its owner reads', async () => {
  const config = join(stateDir, 'nats', 'nats.conf');
  assert.equal((await stat(config)).mode & 0o077, 0);
});

test('with the user, password and CA the client connects over TLS and messages flow', async () => {
  const nc = await natsConnection(settings);
  try {
    assert.equal(nc.info?.tls_required, true);
    const sub = nc.subscribe('cairn.test.echo', { max: 1 });
    (async () => {
      for await (const m of sub) m.respond(m.data);
    })();
    const reply = await nc.request('cairn.test.echo', 'ping', { timeout: 5_000 });
    assert.equal(reply.string(), 'ping');
  } finally {
    await nc.close();
  }
});

test('without credentials, or with a wrong password, the connection fails with an authorization error', async () => {
  for (const other of [
    { ...env, NATS_USER: undefined, NATS_PASSWORD: undefined },
    { ...env, NATS_PASSWORD: 'wrong-password-xyz' },
  ]) {
    const error = await natsConnection(readSettings(other), { timeout: 5_000, reconnect: false }).then(
      (nc) => nc.close().then(() => new Error('connected')),
      (e: Error) => e,
    );
    assert.match(error.message, /authorization violation/i);
    assert.ok(!error.message.includes(password));
  }
});

test('without the CA the server certificate is refused', async () => {
  const error = await natsConnection(readSettings({ ...env, NATS_TLS_CA: undefined }), {
    timeout: 5_000,
    reconnect: false,
  }).then(
    (nc) => nc.close().then(() => new Error('connected')),
    (e: Error) => e,
  );
  assert.match(`${error.message} ${String(error.cause)}`, /certificate|tls/i);
});

test('cairn stack status reports the failed login without showing the password', async () => {
  const ok = await cairnWith(env, ['stack', 'status', 'nats']);
  assert.equal(ok.code, 0, ok.output);
  assert.match(ok.output, /nats +healthy/);
  const wrong = 'Wr0ng-pw-also-secret';
  const failed = await cairnWith({ ...env, NATS_PASSWORD: wrong }, ['stack', 'status', 'nats']);
  assert.equal(failed.code, 1, failed.output);
  assert.match(failed.output, /DOWN.*authorization violation/i);
  for (const output of [ok.output, failed.output]) {
    assert.ok(!output.includes(password));
    assert.ok(!output.includes(wrong));
  }
  const { NATS_USER: _user, NATS_PASSWORD: _password, ...withoutCredentials } = env;
  const inUrl = await cairnWith(
    { ...withoutCredentials, NATS_URL: `nats://cairn:${password}@127.0.0.1:${env.CAIRN_NATS_PORT}` },
    ['stack', 'status', 'nats'],
  );
  assert.match(inUrl.output, /nats +healthy +nats:\/\/\*\*\*@127\.0\.0\.1/, inUrl.output);
  assert.ok(!inUrl.output.includes(password), inUrl.output);
});

test('a configuration error names the variable, never a value', async () => {
  const secretToken = 'tok-Hh3-very-secret';
  const problems = [
    { NATS_TOKEN: secretToken, NATS_USER: 'cairn', NATS_PASSWORD: password },
    { NATS_PASSWORD: password },
    { KAFKA_SASL_MECHANISM: 'scram-sha-1', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: password },
    { KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: password },
    { ELASTICSEARCH_API_KEY: secretToken, ELASTICSEARCH_USERNAME: 'u', ELASTICSEARCH_PASSWORD: password },
    { ELASTICSEARCH_TLS_CA: '/ca.pem', ELASTICSEARCH_URL: 'http://127.0.0.1:9200' },
    { TEMPORAL_TLS_CERT: '/client.pem' },
  ];
  for (const problem of problems) {
    assert.throws(
      () => readSettings(problem),
      (error: Error) =>
        error instanceof ConfigError &&
        Object.keys(problem).some((variable) => error.message.includes(variable)) &&
        !error.message.includes(password) &&
        !error.message.includes(secretToken),
    );
  }
  const child = await cairnWith({ NATS_TOKEN: secretToken, NATS_USER: 'cairn', NATS_PASSWORD: password }, [
    'stack',
    'status',
  ]);
  assert.equal(child.code, 1);
  assert.match(child.output, /NATS_TOKEN/);
  assert.ok(!child.output.includes(secretToken) && !child.output.includes(password), child.output);
});

test('redaction masks credentials in URLs and the values of secret variables', () => {
  assert.equal(
    redactUrl(`nats://cairn:${password}@a:4222,tls://b:4222,https://elastic:x@es:9200`),
    'nats://***@a:4222,tls://b:4222,https://***@es:9200',
  );
  assert.equal(
    redactSecrets(`SASL failed for u with ${password}`, { KAFKA_SASL_PASSWORD: password }),
    'SASL failed for u with ***',
  );
});

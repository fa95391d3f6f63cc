/**
 * Kafka with SASL/SCRAM over TLS: a private KRaft broker started by the stack launcher on its own
 * ports and state directory (SASL_SSL listener, a certificate from the test's CA, the SCRAM user
 * created when the storage is formatted). Cairn's clients get in with the settings; a wrong
 * password fails with an authentication error, a client without the CA with a certificate
 * error; nothing printed shows the password.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { stackDown, stackUp } from '../../deploy/local/stack';
import { type CairnSettings, readSettings } from '../../services/config/environment';
import { eventProducer, kafkaClient, kafkaConnection } from '../../services/events/kafka';
import { ensureTopics, topicNames } from '../../services/events/topics';
import { freePort } from '../support/free-port';
import { waitFor } from '../support/wait';
import { type Certificates, cairnWith, makeCertificates } from './tls-fixture';

const password = 'scram-Xy9-broker-secret';
let certificates: Certificates;
let stateDir: string;
let env: Record<string, string>;
let settings: CairnSettings;

before(async () => {
  certificates = await makeCertificates();
  stateDir = await mkdtemp(join(tmpdir(), 'cairn-test-kafka-sasl-'));
  env = {
    CAIRN_STATE: stateDir,
    CAIRN_KAFKA_PORT: String(await freePort()),
    CAIRN_KAFKA_CONTROLLER_PORT: String(await freePort()),
    KAFKA_SASL_MECHANISM: 'scram-sha-256',
    KAFKA_SASL_USERNAME: 'cairn',
    KAFKA_SASL_PASSWORD: password,
    KAFKA_TLS_CA: certificates.ca,
    CAIRN_KAFKA_SERVER_CERT: certificates.serverCert,
    CAIRN_KAFKA_SERVER_KEY: certificates.serverKey,
  };
  settings = readSettings(env);
  await stackUp(settings, ['kafka']);
});

after(async () => {
  await stackDown(settings, ['kafka']);
  await rm(stateDir, { recursive: true, force: true });
  await certificates.remove();
});

test('the broker config and key that hold secrets are readable by their owner only', async () => {
  for (const file of ['server.properties', 'keystore.pem'])
    assert.equal((await stat(join(stateDir, 'kafka', file))).mode & 0o077, 0, file);
});

test('with the SCRAM user and the CA the clients create topics, produce and consume over TLS', async () => {
  const kafka = kafkaClient(settings, 'cairn-test-sasl');
  const topics = topicNames('sasl.');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topics, 1);
  await admin.disconnect();
  const producer = eventProducer(kafka);
  await producer.connect();
  await producer.send({ topic: topics.users, acks: -1, messages: [{ key: 'u1', value: 'hello' }] });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'sasl.reader' });
  const read: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: topics.users, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        read.push(String(message.value));
      },
    });
    await waitFor(() => read.length > 0, { what: 'the message read back', timeoutMs: 60_000 });
  } finally {
    await consumer.disconnect();
  }
  assert.deepEqual(read, ['hello']);
});

test('a wrong password or none is refused with an authentication error that does not show it', async () => {
  const wrong = 'scram-wrong-Qq2';
  for (const other of [
    { ...env, KAFKA_SASL_PASSWORD: wrong },
    { ...env, KAFKA_SASL_MECHANISM: 'scram-sha-512' },
  ]) {
    const admin = kafkaClient(readSettings(other), 'cairn-test-sasl-wrong').admin();
    admin.logger().setLogLevel(logLevel.NOTHING);
    const error = await admin.connect().then(
      () => admin.disconnect().then(() => new Error('connected')),
      (e: Error) => e,
    );
    assert.match(error.message, /SASL|authentication/i, error.message);
    assert.ok(!error.message.includes(password) && !error.message.includes(wrong));
  }
  const { KAFKA_SASL_MECHANISM: _m, KAFKA_SASL_USERNAME: _u, KAFKA_SASL_PASSWORD: _p, ...anonymous } = env;
  const admin = kafkaClient(readSettings(anonymous), 'cairn-test-anonymous').admin();
  // kafkajs' own logger would print the broker's refusals: silenced for this expected failure.
  admin.logger().setLogLevel(logLevel.NOTHING);
  const outcome = await (async () => {
    await admin.connect();
    await admin.listTopics();
    return 'listed topics without credentials';
  })().catch((e: Error) => e);
  await admin.disconnect();
  assert.ok(outcome instanceof Error, String(outcome));
});

test('without the CA the broker certificate is refused; without TLS the connection fails', async () => {
  const { KAFKA_TLS_CA: _ca, ...withoutCa } = env;
  for (const other of [{ ...withoutCa, KAFKA_TLS: 'true' }, withoutCa]) {
    // No retries: the failure is expected, and each retry of a TLS mismatch waits for a time-out.
    const admin = new Kafka({
      clientId: 'cairn-test-tls',
      ...kafkaConnection(readSettings(other)),
      retry: { retries: 0 },
      connectionTimeout: 3_000,
      requestTimeout: 5_000,
      logLevel: logLevel.NOTHING,
    }).admin();
    const outcome = await (async () => {
      await admin.connect();
      await admin.listTopics();
      return 'connected';
    })().catch((e: Error) => e);
    await admin.disconnect();
    assert.ok(outcome instanceof Error, String(outcome));
    if (other.KAFKA_TLS === 'true')
      assert.match(`${outcome.message} ${String(outcome.cause)}`, /certificate/i);
  }
});

test('cairn stack status reports the failed login without showing the password', async () => {
  const ok = await cairnWith(env, ['stack', 'status', 'kafka']);
  assert.equal(ok.code, 0, ok.output);
  const wrong = 'scram-wrong-Rt5';
  const failed = await cairnWith({ ...env, KAFKA_SASL_PASSWORD: wrong }, ['stack', 'status', 'kafka']);
  assert.equal(failed.code, 1, failed.output);
  assert.match(failed.output, /kafka +DOWN.*(SASL|authentication)/i);
  for (const output of [ok.output, failed.output])
    assert.ok(!output.includes(password) && !output.includes(wrong), output);
});

/**
 * Kafka with SASL/SCRAM: a private KRaft broker started by the stack launcher on its own ports
 * and state directory, its SCRAM user created when the storage is formatted. Cairn's clients get
 * in with the settings; a wrong password fails with an authentication error; nothing printed
 * shows the password.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { logLevel } from 'kafkajs';
import { stackDown, stackUp } from '../../deploy/local/stack';
import { type CairnSettings, readSettings } from '../../services/config/environment';
import { eventProducer, kafkaClient } from '../../services/events/kafka';
import { ensureTopics, topicNames } from '../../services/events/topics';
import { waitFor } from '../support/wait';
import { cairnWith, freePort } from './tls-fixture';

const password = 'scram-Xy9-broker-secret';
let stateDir: string;
let env: Record<string, string>;
let settings: CairnSettings;

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'cairn-test-kafka-sasl-'));
  env = {
    CAIRN_STATE: stateDir,
    CAIRN_KAFKA_PORT: String(await freePort()),
    CAIRN_KAFKA_CONTROLLER_PORT: String(await freePort()),
    KAFKA_SASL_MECHANISM: 'scram-sha-256',
    KAFKA_SASL_USERNAME: 'cairn',
    KAFKA_SASL_PASSWORD: password,
  };
  settings = readSettings(env);
  await stackUp(settings, ['kafka']);
});

after(async () => {
  await stackDown(settings, ['kafka']);
  await rm(stateDir, { recursive: true, force: true });
});

test('the broker config that holds the password is readable by its owner only', async () => {
  assert.equal((await stat(join(stateDir, 'kafka', 'server.properties'))).mode & 0o077, 0);
});

test('with the SCRAM user the clients create topics, produce and consume', async () => {
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

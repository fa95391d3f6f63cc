import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readSettings } from '../../services/config/environment';
import { configuredLogLevel, createLogger, type LoggerOptions } from '../../services/observability/log';

function collected(options: Omit<LoggerOptions, 'sink'>) {
  const writes: string[] = [];
  const logger = createLogger({ ...options, sink: { write: (line) => writes.push(line) } });
  return { logger, writes };
}

test('every log event is one JSON object on one line, with level, time, message and fields', () => {
  const { logger, writes } = collected({ level: 'info', secrets: {} });
  logger.info({ replica: 'r1', partitions: [0, 1] }, 'serving');
  logger.warn('a message\nthat spans\nlines');
  logger.error({ err: new Error('broken\npipe') }, 'reply failed');
  assert.equal(writes.length, 3);
  for (const line of writes) {
    assert.ok(line.endsWith('\n'));
    assert.equal(line.slice(0, -1).includes('\n'), false, `a raw newline inside ${line}`);
  }
  const [first, second, third] = writes.map((line) => JSON.parse(line));
  assert.equal(first.level, 'info');
  assert.equal(first.msg, 'serving');
  assert.equal(first.replica, 'r1');
  assert.deepEqual(first.partitions, [0, 1]);
  assert.ok(!Number.isNaN(Date.parse(first.time)), 'time is an ISO date');
  assert.equal(second.msg, 'a message\nthat spans\nlines');
  assert.equal(third.level, 'error');
  assert.equal(third.err.message, 'broken\npipe');
  assert.match(third.err.stack, /Error: broken/);
});

test('the level is honoured: lines below it are not written', () => {
  const { logger, writes } = collected({ level: 'warn', secrets: {} });
  logger.debug('debug');
  logger.info('info');
  logger.warn('warn');
  logger.error('error');
  assert.deepEqual(
    writes.map((line) => JSON.parse(line).msg),
    ['warn', 'error'],
  );
  const quiet = collected({ level: 'silent', secrets: {} });
  quiet.logger.fatal('fatal');
  assert.deepEqual(quiet.writes, []);
});

test('CAIRN_LOG_LEVEL is read case-insensitively, and a bad one is refused naming the variable', () => {
  assert.equal(configuredLogLevel({ CAIRN_LOG_LEVEL: 'WARN' }), 'warn');
  assert.equal(configuredLogLevel({ CAIRN_LOG_LEVEL: 'debug' }), 'debug');
  assert.equal(configuredLogLevel({}), 'info');
  assert.equal(readSettings({ CAIRN_LOG_LEVEL: 'ERROR' }).env.CAIRN_LOG_LEVEL, 'error');
  assert.throws(() => readSettings({ CAIRN_LOG_LEVEL: 'loud' }), /CAIRN_LOG_LEVEL/);
});

test('secrets are masked wherever they appear: message, field, error, URL credentials, JSON-escaped', () => {
  const secrets = { NATS_PASSWORD: 'n4ts-Secret', KAFKA_SASL_PASSWORD: 'quote"and\\slash' };
  const { logger, writes } = collected({ level: 'info', secrets });
  logger.info(`connecting with n4ts-Secret`);
  logger.warn({ config: { password: 'n4ts-Secret' } }, 'config');
  logger.error({ err: new Error('SASL auth failed for quote"and\\slash') }, 'broker');
  logger.info({ url: 'nats://cairn:hunter2@nats.internal:4222' }, 'url');
  const text = writes.join('');
  assert.ok(!text.includes('n4ts-Secret'), text);
  assert.ok(!text.includes('quote\\"and\\\\slash'), text);
  assert.ok(!text.includes('hunter2'), text);
  assert.match(text, /nats:\/\/\*\*\*@nats\.internal:4222/);
  for (const line of writes) JSON.parse(line);
  assert.equal(JSON.parse(writes[0]).msg, 'connecting with ***');
});

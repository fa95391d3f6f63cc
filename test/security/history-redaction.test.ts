/**
 * Failures reach workflow histories through Cairn's workers' failure converter, which masks
 * secrets: an activity error quoting a password is recorded without it, and the worker's log
 * line about the failure masks it too.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { readSettings } from '../../services/config/environment';
import {
  namespaceOf,
  temporalClient,
  workerConnection,
  workerDataConverter,
} from '../../services/orchestration/temporal';
import { leakyActivities } from './fixtures/leaky-activities';

test("an activity's error that quotes a secret is recorded in the history without it", async () => {
  const secret = `hist-${randomUUID().slice(0, 8)}-secret`;
  process.env.KAFKA_SASL_PASSWORD = secret;
  const settings = readSettings({
    ...process.env,
    KAFKA_SASL_MECHANISM: undefined,
    KAFKA_SASL_USERNAME: undefined,
    KAFKA_SASL_PASSWORD: undefined,
  });
  const taskQueue = `test-leaky-${randomUUID()}`;
  const logged: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    logged.push(String(chunk));
    return write(chunk, ...rest);
  }) as typeof process.stderr.write;
  const connection = await workerConnection(settings);
  const client = await temporalClient(settings);
  try {
    const worker = await Worker.create({
      connection,
      namespace: namespaceOf(settings),
      taskQueue,
      workflowsPath: require.resolve('./fixtures/leaky-workflow'),
      activities: leakyActivities,
      dataConverter: workerDataConverter,
    });
    const workflowId = `leaky-${randomUUID()}`;
    const outcome = await worker
      .runUntil(client.workflow.execute('leaky', { taskQueue, workflowId }))
      .catch((error: unknown) => error);
    assert.ok(outcome instanceof WorkflowFailedError);
    const history = JSON.stringify(await client.workflow.getHandle(workflowId).fetchHistory());
    assert.match(history, /authentication failed for cairn:\*\*\* at nats:\/\/\*\*\*@broker:4222/);
    assert.ok(!history.includes(secret), 'the secret is in the history');
    const log = logged.join('');
    assert.match(log, /Activity failed/);
    assert.ok(!log.includes(secret), 'the secret is in the worker log');
  } finally {
    process.stderr.write = write;
    delete process.env.KAFKA_SASL_PASSWORD;
    await client.connection.close();
    await connection.close();
  }
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { readSettings } from '../../services/config/environment';
import { temporalClient, workerConnection } from '../../services/orchestration/temporal';
import { greetingActivities } from '../fixtures/greeting-activities';

test('server smoke (no Cairn code): a workflow runs on a worker against the real Temporal server', async () => {
  const settings = readSettings();
  const taskQueue = `test-greeting-${randomUUID()}`;
  const connection = await workerConnection(settings);
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: require.resolve('../fixtures/greeting-workflow'),
    activities: greetingActivities,
  });
  const client = await temporalClient(settings);
  try {
    const workflowId = `greet-${randomUUID()}`;
    const result = await worker.runUntil(
      client.workflow.execute('greet', { taskQueue, workflowId, args: ['cairn'] }),
    );
    assert.equal(result, 'hello, cairn');
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const kinds = (history.events ?? []).map((e) => e.activityTaskCompletedEventAttributes).filter(Boolean);
    assert.equal(kinds.length, 1, 'the activity ran once and its completion is in the history');
  } finally {
    await client.connection.close();
    await connection.close();
  }
});

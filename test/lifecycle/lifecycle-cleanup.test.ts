import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { type ScratchSettings, scratchNamespace } from '../../services/config/scratch-namespace';
import { terminateLifecycles } from '../../services/lifecycle/lifecycle-cleanup';
import { lifecycleWorkflowId, runningLifecyclesQuery } from '../../services/lifecycle/lifecycle-names';
import { temporalClient } from '../../services/orchestration/temporal';
import { itemLifecycle } from '../../workflows/item-lifecycle';
import { waitFor } from '../support/wait';

const content = { title: 'x', categories: [], year: null, text: '' };

describe('ending the lifecycles of a namespace (what the demo does at its end)', () => {
  let ours: ScratchSettings;
  let theirs: ScratchSettings;
  let client: Client;
  before(async () => {
    ours = await scratchNamespace('lcend');
    theirs = await scratchNamespace('lckeep');
    client = await temporalClient(ours);
  });
  after(async () => {
    if (client !== undefined && theirs !== undefined)
      await terminateLifecycles(client, theirs.pipelineTaskQueue, 'test ended');
    await client?.connection.close();
    await ours?.cleanup();
    await theirs?.cleanup();
  });

  it("terminates every running lifecycle on the namespace's task queue and no other", async () => {
    const start = (settings: ScratchSettings, itemId: string) =>
      client.workflow.start(itemLifecycle, {
        taskQueue: settings.pipelineTaskQueue,
        workflowId: lifecycleWorkflowId(settings, itemId),
        args: [{ itemId, content }],
      });
    const running = (settings: ScratchSettings) =>
      client.workflow.count(runningLifecyclesQuery(settings.pipelineTaskQueue)).then((c) => c.count);
    const handles = await Promise.all(['a', 'b', 'c'].map((id) => start(ours, id)));
    const other = await start(theirs, 'a');
    await waitFor(async () => (await running(ours)) === 3 && (await running(theirs)) === 1, {
      what: 'visibility to list the started lifecycles',
      timeoutMs: 30_000,
      pollMs: 300,
    });
    assert.equal(await terminateLifecycles(client, ours.pipelineTaskQueue, 'demo ended'), 3);
    for (const handle of handles) assert.equal((await handle.describe()).status.name, 'TERMINATED');
    assert.equal((await other.describe()).status.name, 'RUNNING', "another namespace's lifecycle is kept");
    await waitFor(async () => (await running(ours)) === 0, {
      what: 'visibility to list none running',
      timeoutMs: 30_000,
      pollMs: 300,
    });
  });
});

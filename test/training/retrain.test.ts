import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { runPipelineWorker } from '../../cli/worker';
import { searchClient } from '../../services/catalog/elasticsearch';
import { aliasTarget } from '../../services/catalog/vector-index';
import { exited, spawnCairn } from '../../services/config/cairn-process';
import { type ScratchSettings, scratchNamespace } from '../../services/config/scratch-namespace';
import { retrainInput } from '../../services/orchestration/schedules';
import { temporalClient } from '../../services/orchestration/temporal';
import { openModelRegistry } from '../../services/registry/model-registry';
import { retrievalFamily } from '../../services/training/families';
import type { RetrainPhase, RetrainResult } from '../../workflows/retrain';
import { fillSyntheticStore } from '../support/synthetic-store';
import { waitFor } from '../support/wait';

const data = { seed: 3, itemCount: 400, userCount: 300, interactionCount: 15_000 };
const good = { ials: { factors: 16, lambda: 5, alpha: 10, epochs: 6, seed: 1 } };
const worse = { ials: { factors: 2, lambda: 5, alpha: 10, epochs: 1, seed: 1 } };

async function retrain(settings: ScratchSettings, config: unknown, id: string): Promise<RetrainResult> {
  const client = await temporalClient(settings);
  try {
    return await client.workflow.execute('retrain', {
      taskQueue: settings.pipelineTaskQueue,
      workflowId: `${settings.prefix}retrain-${id}`,
      // The server fails a run that takes longer, so awaiting the result has a deadline too.
      workflowExecutionTimeout: '5 minutes',
      args: [retrainInput(settings, config)],
    });
  } finally {
    await client.connection.close();
  }
}

test('retrain promotes, is idempotent on the same snapshot, and the gate refuses a worse model', async (t) => {
  const settings = await scratchNamespace();
  const search = searchClient(settings);
  try {
    await fillSyntheticStore(settings, data);
    const first = (await runPipelineWorker(settings, retrain(settings, good, 'first'))) as RetrainResult;
    assert.equal(first.decision.promote, true);
    assert.equal(first.decision.reason, 'no champion yet');
    assert.equal(await aliasTarget(search, settings.itemsAlias), first.backfill?.index);
    assert.equal(
      (await search.count({ index: settings.itemsAlias })).count,
      data.itemCount,
      'one document per item',
    );

    const again = (await runPipelineWorker(settings, retrain(settings, good, 'again'))) as RetrainResult;
    assert.equal(again.snapshot, first.snapshot);
    assert.equal(again.release.version, first.release.version, 'same snapshot and config, same version');
    assert.equal(again.release.alreadyPublished, true);

    const refused = (await runPipelineWorker(settings, retrain(settings, worse, 'worse'))) as RetrainResult;
    assert.equal(refused.decision.promote, false);
    assert.match(refused.decision.reason, /^worse in retrieval/);
    t.diagnostic(`refused: ${refused.decision.reason}`);
    assert.ok(refused.decision.figures !== undefined, 'the figures compared are recorded');
    assert.ok((refused.decision.champion?.ndcgAt10 ?? 0) > refused.decision.challenger.ndcgAt10);
    assert.equal(refused.backfill, undefined);
    assert.equal(
      await aliasTarget(search, settings.itemsAlias),
      first.backfill?.index,
      'serving did not move',
    );
    const nats = await connect({ servers: settings.natsUrl });
    const champion = await (await openModelRegistry(nats, settings.registryBucket)).champion(retrievalFamily);
    await nats.close();
    assert.equal(champion?.version, first.release.version);

    const client = await temporalClient(settings);
    const memo = await client.workflow.getHandle(`${settings.prefix}retrain-worse`).describe();
    await client.connection.close();
    const gate = memo.memo?.gate as { promote: boolean; families: { ranker?: { reason: string } } };
    assert.equal(gate.promote, false, 'the decision is recorded with the workflow');
    assert.equal(
      gate.families.ranker?.reason,
      refused.release.ranker?.reason,
      "with the challenger's families",
    );
  } finally {
    await search.close();
    await settings.cleanup();
  }
});

test('a worker killed mid-retrain is replaced and the retrain completes', async () => {
  const settings = await scratchNamespace();
  const startWorker = () => spawnCairn(settings, ['worker']);
  await fillSyntheticStore(settings, data);
  let worker = startWorker();
  const client = await temporalClient(settings);
  try {
    const handle = await client.workflow.start('retrain', {
      taskQueue: settings.pipelineTaskQueue,
      workflowId: `${settings.prefix}retrain-crash`,
      workflowExecutionTimeout: '10 minutes',
      // Slow enough that the kill lands while training runs.
      args: [retrainInput(settings, { ials: { ...good.ials, factors: 64, epochs: 30 } })],
    });
    await waitFor(
      async () => (await handle.query<RetrainPhase>('phase').catch(() => undefined)) === 'train',
      {
        what: 'the retrain to reach its training phase',
        timeoutMs: 120_000,
      },
    );
    worker.kill('SIGKILL');
    await exited(worker);
    worker = startWorker();
    const result = (await handle.result()) as RetrainResult;
    assert.equal(result.decision.promote, true);
    const history = await handle.fetchHistory();
    assert.ok(
      (history.events ?? []).some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1),
      'the training activity was retried on the new worker',
    );
  } finally {
    worker.kill('SIGTERM');
    await exited(worker);
    await client.connection.close();
    await settings.cleanup();
  }
});

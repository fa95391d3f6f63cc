/**
 * A scratch namespace with what serving reads: a synthetic store, its catalog and users on the
 * event log, and a champion release trained and backfilled by the real retrain workflow.
 */
import { runPipelineWorker } from '../../cli/worker';
import { type ScratchSettings, scratchNamespace } from '../../services/config/scratch-namespace';
import { syntheticItems, syntheticUsers } from '../../services/data/synthetic';
import { eventProducer, kafkaClient } from '../../services/events/kafka';
import { retrainInput } from '../../services/orchestration/schedules';
import { temporalClient } from '../../services/orchestration/temporal';
import type { RetrainResult } from '../../workflows/retrain';
import { fillSyntheticStore } from '../support/synthetic-store';

export const servingData = { seed: 5, itemCount: 400, userCount: 300, interactionCount: 15_000 };

export async function retrainNow(
  settings: ScratchSettings,
  config: unknown,
  id: string,
): Promise<RetrainResult> {
  const client = await temporalClient(settings);
  try {
    const run = client.workflow.execute('retrain', {
      taskQueue: settings.pipelineTaskQueue,
      workflowId: `${settings.prefix}retrain-${id}`,
      workflowExecutionTimeout: '5 minutes',
      args: [retrainInput(settings, config)],
    });
    return (await runPipelineWorker(settings, run)) as RetrainResult;
  } finally {
    await client.connection.close();
  }
}

/** The serving data's items and users on the log, where serving's catalog feed reads them. */
export async function publishServingEntities(settings: ScratchSettings): Promise<void> {
  const producer = eventProducer(kafkaClient(settings, 'cairn-test-catalog'));
  await producer.connect();
  try {
    await producer.send({
      topic: settings.topics.catalog,
      messages: [...syntheticItems(servingData)].map((e) => ({ key: e.itemId, value: JSON.stringify(e) })),
    });
    await producer.send({
      topic: settings.topics.users,
      messages: [...syntheticUsers(servingData)].map((e) => ({ key: e.userId, value: JSON.stringify(e) })),
    });
  } finally {
    await producer.disconnect();
  }
}

export async function trainedNamespace(
  label: string,
): Promise<{ settings: ScratchSettings; release: RetrainResult }> {
  const settings = await scratchNamespace(label);
  await fillSyntheticStore(settings, servingData);
  await publishServingEntities(settings);
  const release = await retrainNow(
    settings,
    { ials: { factors: 16, lambda: 5, alpha: 10, epochs: 6, seed: 1 } },
    'first',
  );
  return { settings, release };
}

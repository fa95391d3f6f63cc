/** A retrain, run by an in-process pipeline worker, of a synthetic store filled in the test's namespace. */
import { runPipelineWorker } from '../../cli/worker';
import type { CairnSettings } from '../../services/config/environment';
import type { SyntheticConfigInput } from '../../services/data/synthetic';
import { retrainInput } from '../../services/orchestration/schedules';
import { temporalClient } from '../../services/orchestration/temporal';
import type { RetrainResult } from '../../workflows/retrain';
import { fillSyntheticStore } from './synthetic-store';

/** Small iALS settings: the tests check what a release carries, not its quality. */
const smallIals = { factors: 8, lambda: 5, alpha: 10, epochs: 4, seed: 1 };

export async function retrainSyntheticStore(
  settings: CairnSettings,
  data: SyntheticConfigInput,
  name: string,
): Promise<RetrainResult> {
  await fillSyntheticStore(settings, data);
  const client = await temporalClient(settings);
  const run = client.workflow.execute('retrain', {
    taskQueue: settings.pipelineTaskQueue,
    workflowId: `${settings.prefix}retrain-${name}`,
    workflowExecutionTimeout: '12 minutes',
    args: [retrainInput(settings, { ials: smallIals })],
  });
  return (await runPipelineWorker(settings, run).finally(() => client.connection.close())) as RetrainResult;
}

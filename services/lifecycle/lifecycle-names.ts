/** Names of the lifecycle's workflows, consumer groups and budget bucket, in a settings' namespace. */
import { temporalConfig } from '../../temporal.config';
import type { CairnSettings } from '../config/environment';

export const lifecycleWorkflowId = (settings: CairnSettings, itemId: string) =>
  `${settings.prefix}${temporalConfig.lifecycle.workflowIdPrefix}${itemId}`;

/** JetStream bucket names allow no dots. */
export const explorationBucket = (settings: CairnSettings) =>
  `${settings.prefix.replaceAll('.', '-')}cairn-exploration`;

export const lifecycleGroups = (settings: CairnSettings) => ({
  catalog: `${settings.prefix}cairn-lifecycle-catalog`,
  counts: `${settings.prefix}cairn-lifecycle-counts`,
});

/** The visibility query of the running lifecycles of one namespace (its task queue is its own). */
export const runningLifecyclesQuery = (taskQueue: string) =>
  `WorkflowType = 'itemLifecycle' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'`;

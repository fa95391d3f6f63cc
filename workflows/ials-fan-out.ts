import { proxyActivities } from '@temporalio/workflow';
import type { IalsShardInput, TrainingShardActivities } from '../activities/training-shards';
import type { IalsSide } from '../services/training/fan-out-format';
import type { IalsFanOutParams } from '../services/training/fan-out-solver';
import { temporalConfig } from '../temporal.config';

export interface IalsFanOutInput {
  /** Names the run's objects in the training store, where the caller has put its matrix. */
  run: string;
  params: IalsFanOutParams;
  /** Shards per half-step: at most this many training workers solve at once. */
  shards: number;
  /** The training workers' task queue (prefixed like every queue, so the caller names it). */
  taskQueue: string;
}

/** Keys of the fitted factors in the training store. */
export interface IalsFanOutResult {
  users: string;
  items: string;
}

/**
 * An iALS fit fanned out over training workers: each epoch solves every user row against the
 * item factors, then every item row against the new user factors, each half as `shards` row
 * ranges solved in parallel. Only keys pass through here; the factors stay in the store.
 */
export async function ialsFanOut(input: IalsFanOutInput): Promise<IalsFanOutResult> {
  const { startIalsRun, solveIalsShard, assembleIalsHalf } = proxyActivities<TrainingShardActivities>({
    taskQueue: input.taskQueue,
    startToCloseTimeout: temporalConfig.timeouts.training,
    heartbeatTimeout: temporalConfig.timeouts.heartbeat,
    retry: temporalConfig.retry.io,
  });
  const { run, params } = input;
  const plan = await startIalsRun({ run, params, shards: input.shards });
  /** Warm starts: the side's own rows from its last half-step, shard by shard. */
  const warm: Record<IalsSide, string[]> = {
    users: plan.bounds.users.slice(1).map(() => plan.users),
    items: plan.bounds.items.slice(1).map(() => plan.items),
  };
  const half = async (epoch: number, side: IalsSide, fixed: string): Promise<string> => {
    const bounds = plan.bounds[side];
    const shards = await Promise.all(
      warm[side].map((from, shard) => {
        const request: IalsShardInput = {
          run,
          params,
          epoch,
          side,
          shard,
          from: bounds[shard],
          to: bounds[shard + 1],
          warm: from,
          fixed,
        };
        return solveIalsShard(request);
      }),
    );
    warm[side] = shards.map((shard) => shard.key);
    return assembleIalsHalf({ run, epoch, side, shards: warm[side] });
  };
  let users = plan.users;
  let items = plan.items;
  for (let epoch = 0; epoch < params.epochs; epoch++) {
    users = await half(epoch, 'users', items);
    items = await half(epoch, 'items', users);
  }
  return { users, items };
}

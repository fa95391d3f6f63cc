/**
 * Activities of fanned-out iALS training, run by training workers on the `cairn-training` queue.
 * They read their inputs from the training store by key and write their output under a key
 * named by run, epoch, half and shard; an output already there is not computed again, so a
 * retried or re-run shard whose work was done costs one existence check. Each worker process
 * keeps the run's interaction matrix and the last fixed side it read, since its next shards
 * need the same ones.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Context, heartbeat } from '@temporalio/activity';
import { permanentFailure } from '../services/orchestration/failures';
import {
  decodeFactors,
  decodeMatrix,
  encodeFactors,
  type FactorBlock,
  FanOutFormatError,
  type FanOutMatrix,
  type IalsSide,
  ialsKeys,
} from '../services/training/fan-out-format';
import {
  assembleHalf,
  type IalsFanOutParams,
  type ShardBounds,
  shardBounds,
  solveShard,
  startingBlocks,
} from '../services/training/fan-out-solver';
import type { TrainingStore } from '../services/training/fan-out-store';
import { temporalConfig } from '../temporal.config';

export interface TrainingShardDeps {
  store: TrainingStore;
}

export interface IalsRunPlan {
  /** Keys of the starting factors. */
  users: string;
  items: string;
  bounds: ShardBounds;
}

export interface IalsShardInput {
  run: string;
  params: IalsFanOutParams;
  epoch: number;
  side: IalsSide;
  shard: number;
  from: number;
  to: number;
  /** Key of the side's previous factors over the shard's rows. */
  warm: string;
  /** Key of the other side's factors, with their Gramian. */
  fixed: string;
}

export interface IalsShardResult {
  key: string;
  /** False when the output was already stored, by an earlier attempt or run. */
  computed: boolean;
}

/** One decoded object kept per worker process, reloaded when another key is asked for. */
function lastOne<T>(load: (key: string) => Promise<T>): (key: string) => Promise<T> {
  let kept: { key: string; value: Promise<T> } | undefined;
  return (key) => {
    if (kept?.key !== key) {
      const value = load(key);
      kept = { key, value };
      // A failed read must not stay cached for the next attempt.
      value.catch(() => {
        if (kept?.value === value) kept = undefined;
      });
    }
    return kept.value;
  };
}

/** Objects that do not fit together fail every attempt the same way. */
const permanentIfMismatched = (error: unknown): unknown =>
  error instanceof FanOutFormatError ? permanentFailure(temporalConfig.failureTypes.training, error) : error;

export function createTrainingShardActivities({ store }: TrainingShardDeps) {
  /** Inputs are written before any activity reads them: one missing or unreadable stays so. */
  const read = async <T>(key: string, decode: (bytes: Uint8Array, what: string) => T): Promise<T> => {
    const bytes = await store.get(key);
    const what = `training store object ${key}`;
    if (bytes === undefined)
      throw permanentFailure(
        temporalConfig.failureTypes.training,
        `${what} is missing (never written, discarded, or expired)`,
      );
    try {
      return decode(bytes, what);
    } catch (error) {
      throw permanentIfMismatched(error);
    }
  };
  const matrixOf = lastOne((run) => read(ialsKeys.matrix(run), decodeMatrix));
  const fixedOf = lastOne((key) => read(key, decodeFactors));
  const write = (key: string, block: FactorBlock) => store.put(key, encodeFactors(block));

  return {
    /** The seeded starting factors of both sides, and the shards' row ranges. */
    async startIalsRun(input: {
      run: string;
      params: IalsFanOutParams;
      shards: number;
    }): Promise<IalsRunPlan> {
      const matrix: FanOutMatrix = await matrixOf(input.run);
      const users = ialsKeys.start(input.run, 'users');
      const items = ialsKeys.start(input.run, 'items');
      if (!(await store.has(users)) || !(await store.has(items))) {
        const start = startingBlocks(matrix, input.params);
        await write(users, start.users);
        await write(items, start.items);
      }
      return { users, items, bounds: shardBounds(matrix, input.params.factors, input.shards) };
    },

    /** Rows [from, to) of one side against the other side's factors; heartbeats rows done. */
    async solveIalsShard(input: IalsShardInput): Promise<IalsShardResult> {
      const key = ialsKeys.shard(input.run, input.epoch, input.side, input.shard);
      if (await store.has(key)) return { key, computed: false };
      const rows = input.to - input.from;
      let done = 0;
      const beat = setInterval(() => heartbeat({ done, rows }), 1_000);
      try {
        const [matrix, warm, fixed] = await Promise.all([
          matrixOf(input.run),
          read(input.warm, decodeFactors),
          fixedOf(input.fixed),
        ]);
        const { cancellationSignal } = Context.current();
        const solved = await solveShard(matrix, input.params, { ...input, warm, fixed }, async (rowsDone) => {
          done = rowsDone;
          heartbeat({ done, rows });
          await yieldToEventLoop();
          cancellationSignal.throwIfAborted();
        });
        await write(key, solved);
        return { key, computed: true };
      } catch (error) {
        throw permanentIfMismatched(error);
      } finally {
        clearInterval(beat);
      }
    },

    /** One side's factors and Gramian from its shards, stored as the half-step's output. */
    async assembleIalsHalf(input: {
      run: string;
      epoch: number;
      side: IalsSide;
      shards: string[];
    }): Promise<string> {
      const key = ialsKeys.half(input.run, input.epoch, input.side);
      if (!(await store.has(key))) {
        const shards = await Promise.all(input.shards.map((shard) => read(shard, decodeFactors)));
        let assembled: FactorBlock;
        try {
          assembled = assembleHalf(shards);
        } catch (error) {
          throw permanentIfMismatched(error);
        }
        await write(key, assembled);
      }
      return key;
    },
  };
}

export type TrainingShardActivities = ReturnType<typeof createTrainingShardActivities>;

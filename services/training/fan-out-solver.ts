/**
 * The arithmetic of fanned-out iALS, free of I/O: the seeded start, one shard of a half-step, and
 * the assembly of a half-step's shards. A shard runs `solveRows`, the function the in-process fit
 * runs for a thread's row range, in the same WebAssembly kernel with the same G = YᵀY + λI, so
 * the two fits differ only in how the Gramian's sum is split (per shard instead of per thread).
 */
import { DEFAULT_CG_STEPS, fillStartingFactors, loadKernelGramian } from '../models/ials';
import {
  KernelArena,
  kernelGramian,
  kernelSupports,
  takeSolvedGramian,
  threadScratchBytes,
} from '../models/ials-kernel';
import { gramian, type HalfStep, solveRows } from '../models/ials-solver';
import { balancedBounds } from '../models/row-solver-pool';
import { type FactorBlock, FanOutFormatError, type FanOutMatrix, type IalsSide } from './fan-out-format';

/** The iALS hyperparameters of a fanned-out fit (no recency weighting: the retrain uses none). */
export interface IalsFanOutParams {
  factors: number;
  lambda: number;
  alpha: number;
  epochs: number;
  seed: number;
  cgSteps?: number;
}

/** Shard row ranges per side: shard s solves rows [bounds[s], bounds[s + 1]). */
export interface ShardBounds {
  users: number[];
  items: number[];
}

/** Rows solved between heartbeats: a multiple of the kernel's 256-row Gramian chunk. */
const ROWS_PER_BEAT = 2_048;

const sideRows = (matrix: FanOutMatrix, side: IalsSide) =>
  side === 'users'
    ? { ptr: matrix.userPtr, idx: matrix.userItems }
    : { ptr: matrix.itemPtr, idx: matrix.itemUsers };

/** Shards of about equal cost on each side (the row-solver pool's split across threads). */
export function shardBounds(matrix: FanOutMatrix, k: number, shards: number): ShardBounds {
  return {
    users: balancedBounds({ ptr: matrix.userPtr, k }, shards),
    items: balancedBounds({ ptr: matrix.itemPtr, k }, shards),
  };
}

/** YᵀY as the in-process fit computes it before the first half-step. */
function factorGramian(factors: Float32Array, rows: number, k: number): Float64Array {
  const arena = kernelSupports(k)
    ? KernelArena.of([factors.length * 4, ...threadScratchBytes(k, 1)])
    : undefined;
  if (arena === undefined) return gramian(factors, rows, k);
  const inArena = arena.float32(factors.length);
  inArena.set(factors);
  arena.float32(3 * k);
  const blocks = arena.float32(k * k);
  const totals = arena.float64(k * k);
  return kernelGramian(arena.memory, inArena, rows, k, { blocks, totals });
}

/** The in-process fit's starting factors, each side with its Gramian. */
export function startingBlocks(
  matrix: FanOutMatrix,
  { factors: k, seed }: IalsFanOutParams,
): Record<IalsSide, FactorBlock> {
  const users = new Float32Array(matrix.nUsers * k);
  const items = new Float32Array(matrix.nItems * k);
  fillStartingFactors(users, items, k, seed);
  const block = (factors: Float32Array, rows: number) => ({
    from: 0,
    rows,
    k,
    factors,
    gram: factorGramian(factors, rows, k),
  });
  return { users: block(users, matrix.nUsers), items: block(items, matrix.nItems) };
}

export interface ShardSolve {
  side: IalsSide;
  from: number;
  to: number;
  /** The side's previous factors over (at least) rows [from, to): the warm start. */
  warm: FactorBlock;
  /** The other side's whole factors and their Gramian. */
  fixed: FactorBlock;
}

/**
 * Solves rows [from, to) of one side; the block carries the Gramian of the solved rows, which
 * the assembly sums into the next half-step's. `progress` is awaited between row chunks, so a
 * caller can heartbeat and notice cancellation.
 */
export async function solveShard(
  matrix: FanOutMatrix,
  params: IalsFanOutParams,
  { side, from, to, warm, fixed }: ShardSolve,
  progress: (rowsDone: number) => Promise<void>,
): Promise<FactorBlock> {
  const { factors: k, lambda, alpha } = params;
  const sparse = sideRows(matrix, side);
  const rows = to - from;
  if (warm.k !== k || fixed.k !== k || from < warm.from || to > warm.from + warm.rows)
    throw new FanOutFormatError(
      `shard ${side} [${from}, ${to}) at k=${k} cannot start from rows [${warm.from}, ${warm.from + warm.rows}) at k=${warm.k} against k=${fixed.k}`,
    );
  const first = sparse.ptr[from];
  const nnz = sparse.ptr[to] - first;
  const arena = kernelSupports(k)
    ? KernelArena.of(
        [fixed.factors.length, rows * k, rows + 1, nnz, 2 * k * k]
          .map((floats) => floats * 4)
          .concat(threadScratchBytes(k, 1)),
      )
    : undefined;
  const float32 = (n: number) => (arena ? arena.float32(n) : new Float32Array(n));
  const int32 = (n: number) => (arena ? arena.int32(n) : new Int32Array(n));
  const fixedFactors = float32(fixed.factors.length);
  fixedFactors.set(fixed.factors);
  const target = float32(rows * k);
  target.set(warm.factors.subarray((from - warm.from) * k, (to - warm.from) * k));
  // The shard's rows renumbered from 0, their positives cut out of the side's index.
  const ptr = int32(rows + 1);
  for (let r = 0; r <= rows; r++) ptr[r] = sparse.ptr[from + r] - first;
  const idx = int32(nnz);
  idx.set(sparse.idx.subarray(first, first + nnz));
  const kernel = arena && {
    memory: arena.memory,
    gram: arena.float32(k * k),
    inverse: lambda > 0 ? arena.float32(k * k) : undefined,
    scratch: arena.float32(3 * k),
    blocks: arena.float32(k * k),
    totals: arena.float64(k * k),
  };
  if (kernel) loadKernelGramian(kernel, fixed.gram, k, lambda);
  const step: HalfStep = {
    target,
    fixed: fixedFactors,
    gram: fixed.gram,
    ptr,
    idx,
    k,
    alpha,
    lambda,
    cgSteps: params.cgSteps ?? DEFAULT_CG_STEPS,
    kernel,
  };
  for (let r = 0; r < rows; r += ROWS_PER_BEAT) {
    const end = Math.min(rows, r + ROWS_PER_BEAT);
    solveRows(step, r, end);
    await progress(end);
  }
  const gram = kernel ? takeSolvedGramian(kernel.totals, k) : gramian(target, rows, k);
  return { from, rows, k, factors: target, gram };
}

/** One side's factors from its shards, in row order; the Gramian is the sum of theirs. */
export function assembleHalf(shards: FactorBlock[]): FactorBlock {
  const k = shards[0]?.k ?? 0;
  let rows = 0;
  for (const shard of shards) {
    if (shard.from !== rows || shard.k !== k)
      throw new FanOutFormatError(
        `shards do not tile the side: one starts at row ${shard.from} (k=${shard.k}) where row ${rows} (k=${k}) was expected`,
      );
    rows += shard.rows;
  }
  const factors = new Float32Array(rows * k);
  const gram = new Float64Array(k * k);
  for (const shard of shards) {
    factors.set(shard.factors, shard.from * k);
    for (let n = 0; n < gram.length; n++) gram[n] += shard.gram[n];
  }
  return { from: 0, rows, k, factors, gram };
}

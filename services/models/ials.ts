import { invertSymmetricPositiveDefinite } from './dense-linear-algebra';
import {
  KernelArena,
  kernelGramian,
  kernelSupports,
  takeSolvedGramian,
  threadScratchBytes,
} from './ials-kernel';
import { cgScratch, conjugateGradient, gramian, type HalfStep, solveRows } from './ials-solver';
import type { InteractionMatrix } from './interaction-matrix';
import { mulberry32 } from './random';
import { recencyWeights } from './recency';
import { RowSolverPool } from './row-solver-pool';
import type { CandidateModel } from './types';

export interface IalsParams {
  factors: number;
  /** L2 penalty λ on both factor matrices. */
  lambda: number;
  /** Confidence on observed pairs is 1 + α; unobserved pairs have confidence 1 and target 0. */
  alpha: number;
  epochs: number;
  /** CG iterations per row per half-step; warm starts make 2-4 enough (Takács et al. 2011). */
  cgSteps?: number;
  seed?: number;
  /**
   * When set, a positive's strength is its recency weight (half-life in items,
   * see `recencyWeights`), so confidence is 1 + α·weight instead of 1 + α.
   */
  recencyHalfLife?: number;
  /** Solver threads including the main one; above 1, row solves also run in worker threads. */
  threads?: number;
  /**
   * Called after each epoch with its seconds, e.g. to log them or heartbeat a long fit. The first
   * epoch's time includes the fit's setup (arena, copies, worker threads), not the caller's matrix.
   */
  onEpoch?: (epoch: number, seconds: number) => void;
}

export const DEFAULT_CG_STEPS = 3;
/** A cold fold-in has no warm start, so it gets more iterations than a training half-step. */
const FOLD_IN_CG_STEPS = 12;

function fillRandom(factors: Float32Array, scale: number, random: () => number): Float32Array {
  for (let n = 0; n < factors.length; n++) factors[n] = (random() - 0.5) * scale;
  return factors;
}

/** Where a fit keeps its arrays: the wasm kernel's arena, or plain (shared when threaded) arrays. */
interface FitStorage {
  float32(length: number): Float32Array;
  int32(length: number): Int32Array;
  arena?: KernelArena;
}

/**
 * The seeded start, users' rows then items' from one stream, shared with the fanned-out fit so
 * both start from the same factors. Small and random: zero would be a fixed point of the solves.
 */
export function fillStartingFactors(users: Float32Array, items: Float32Array, k: number, seed = 1): void {
  const random = mulberry32(seed);
  const scale = 0.1 / Math.sqrt(k);
  fillRandom(users, scale, random);
  fillRandom(items, scale, random);
}

/** Loads G = YᵀY + λI, and its inverse when λ > 0, into a kernel step's single-precision slots. */
export function loadKernelGramian(
  kernel: { gram: Float32Array; inverse?: Float32Array },
  gram: Float64Array,
  k: number,
  lambda: number,
): void {
  const regularised = Float64Array.from(gram, (g, n) => g + (n % (k + 1) === 0 ? lambda : 0));
  kernel.gram.set(regularised);
  kernel.inverse?.set(invertSymmetricPositiveDefinite(regularised, k));
}

function fitStorage(train: InteractionMatrix, k: number, threads: number, weighted: boolean): FitStorage {
  const rows = train.nUsers + train.nItems;
  const arena = kernelSupports(k)
    ? KernelArena.of(
        [rows * k, rows + 2, 2 * train.nnz, weighted ? 2 * train.nnz : 0, 2 * k * k]
          .map((floats) => floats * 4)
          .concat(threadScratchBytes(k, threads)),
      )
    : undefined;
  if (arena) return { float32: (n) => arena.float32(n), int32: (n) => arena.int32(n), arena };
  const shared = threads > 1;
  return {
    float32: (n) => (shared ? new Float32Array(new SharedArrayBuffer(n * 4)) : new Float32Array(n)),
    int32: (n) => new Int32Array(n),
  };
}

/** Implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008) with CG row solves. */
export class Ials implements CandidateModel {
  readonly name = 'ials';
  private userFactors: Float32Array = new Float32Array(0);
  private itemFactors: Float32Array = new Float32Array(0);
  private itemGram: Float64Array = new Float64Array(0);
  private nItems = 0;

  constructor(readonly params: IalsParams) {}

  async fit(train: InteractionMatrix): Promise<void> {
    let epochStarted = performance.now();
    const { factors: k, lambda, alpha, epochs } = this.params;
    const cgSteps = this.params.cgSteps ?? DEFAULT_CG_STEPS;
    const threads = this.params.threads ?? 1;
    const byUser =
      this.params.recencyHalfLife === undefined
        ? undefined
        : recencyWeights(train, this.params.recencyHalfLife);
    const storage = fitStorage(train, k, threads, byUser !== undefined);
    const copy = <T extends Float32Array | Int32Array>(into: T, from: ArrayLike<number>): T => {
      into.set(from);
      return into;
    };
    const users = storage.float32(train.nUsers * k);
    const items = storage.float32(train.nItems * k);
    fillStartingFactors(users, items, k, this.params.seed);
    const userSide = {
      ptr: copy(storage.int32(train.nUsers + 1), train.userPtr),
      idx: copy(storage.int32(train.nnz), train.userItems),
      strength: byUser && copy(storage.float32(train.nnz), byUser),
    };
    const itemSide = {
      ptr: copy(storage.int32(train.nItems + 1), train.itemPtr),
      idx: copy(storage.int32(train.nnz), train.itemUsers),
      strength:
        byUser &&
        copy(
          storage.float32(train.nnz),
          Float32Array.from(train.itemEntries, (e) => byUser[e]),
        ),
    };
    const arena = storage.arena;
    const kernel = arena && {
      memory: arena.memory,
      gram: arena.float32(k * k),
      // YᵀY is only semidefinite: without λ > 0 there may be no inverse, and CG does every row.
      inverse: lambda > 0 ? arena.float32(k * k) : undefined,
      scratch: arena.float32(3 * k * threads),
      blocks: arena.float32(threads * k * k),
      totals: arena.float64(threads * k * k),
    };
    const pool = threads > 1 ? RowSolverPool.start(threads - 1) : undefined;
    /**
     * Solves one side against the fixed side's Gramian; returns the solved side's Gramian, which
     * the kernel accumulates while solving (the JavaScript kernel computes it after).
     */
    const side = async (
      target: Float32Array,
      targetRows: number,
      fixed: Float32Array,
      gram: Float64Array,
      { ptr, idx, strength }: { ptr: Int32Array; idx: Int32Array; strength: Float32Array | undefined },
    ) => {
      if (kernel) loadKernelGramian(kernel, gram, k, lambda);
      const step: HalfStep = { target, fixed, gram, ptr, idx, strength, k, alpha, lambda, cgSteps, kernel };
      if (pool) await pool.solve(step);
      else solveRows(step, 0, targetRows);
      return kernel ? takeSolvedGramian(kernel.totals, k) : gramian(target, targetRows, k);
    };
    let itemGram = kernel
      ? kernelGramian(kernel.memory, items, train.nItems, k, kernel)
      : gramian(items, train.nItems, k);
    try {
      for (let epoch = 0; epoch < epochs; epoch++) {
        const userGram = await side(users, train.nUsers, items, itemGram, userSide);
        itemGram = await side(items, train.nItems, users, userGram, itemSide);
        const now = performance.now();
        this.params.onEpoch?.(epoch, (now - epochStarted) / 1000);
        epochStarted = now;
      }
    } finally {
      await pool?.close();
    }
    this.userFactors = users;
    this.itemFactors = items;
    this.itemGram = itemGram;
    this.nItems = train.nItems;
  }

  /** Row-major factors (one row of `params.factors` per item), for export and ANN indexing. */
  get itemVectors(): Float32Array {
    return this.itemFactors;
  }

  get userVectors(): Float32Array {
    return this.userFactors;
  }

  scoreUser(user: number, out: Float32Array): void {
    this.scoreVector(
      this.userFactors.subarray(user * this.params.factors, (user + 1) * this.params.factors),
      out,
    );
  }

  /** Scores for a user vector that need not belong to a training user (e.g. from `foldInUser`). */
  scoreVector(vector: Float32Array, out: Float32Array): void {
    const k = this.params.factors;
    const items = this.itemFactors;
    for (let i = 0; i < this.nItems; i++) {
      const row = i * k;
      let s = 0;
      for (let f = 0; f < k; f++) s += vector[f] * items[row + f];
      out[i] = s;
    }
  }

  /**
   * A user vector for an unseen history (oldest first): one row solve against
   * the frozen item factors, exactly what training would do for that user's
   * next half-step, including the recency weighting when the model uses it.
   */
  foldInUser(items: ArrayLike<number>): Float32Array {
    const k = this.params.factors;
    if (this.itemFactors.length === 0) throw new Error('ials: fit before folding in');
    const x = new Float64Array(k);
    const step = {
      fixed: this.itemFactors,
      gram: this.itemGram,
      k,
      alpha: this.params.alpha,
      lambda: this.params.lambda,
    };
    const halfLife = this.params.recencyHalfLife;
    const strength =
      halfLife === undefined
        ? undefined
        : Float32Array.from(items, (_, j) => 2 ** (-(items.length - 1 - j) / halfLife));
    conjugateGradient(step, items, x, Math.min(k, FOLD_IN_CG_STEPS), cgScratch(k), strength);
    return Float32Array.from(x);
  }
}

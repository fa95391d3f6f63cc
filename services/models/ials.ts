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
}

const DEFAULT_CG_STEPS = 3;
/** A cold fold-in has no warm start, so it gets more iterations than a training half-step. */
const FOLD_IN_CG_STEPS = 12;

function randomFactors(length: number, scale: number, random: () => number, shared: boolean): Float32Array {
  const factors = shared ? new Float32Array(new SharedArrayBuffer(length * 4)) : new Float32Array(length);
  for (let n = 0; n < length; n++) factors[n] = (random() - 0.5) * scale;
  return factors;
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
    const { factors: k, lambda, alpha, epochs } = this.params;
    const cgSteps = this.params.cgSteps ?? DEFAULT_CG_STEPS;
    const threads = this.params.threads ?? 1;
    const random = mulberry32(this.params.seed ?? 1);
    // Small random start: zero would be a fixed point of the alternating solves.
    const scale = 0.1 / Math.sqrt(k);
    const users = randomFactors(train.nUsers * k, scale, random, threads > 1);
    const items = randomFactors(train.nItems * k, scale, random, threads > 1);
    const byUser =
      this.params.recencyHalfLife === undefined
        ? undefined
        : recencyWeights(train, this.params.recencyHalfLife);
    const byItem = byUser && Float32Array.from(train.itemEntries, (entry) => byUser[entry]);
    const pool = threads > 1 ? RowSolverPool.start(threads - 1) : undefined;
    const side = async (
      target: Float32Array,
      fixed: Float32Array,
      fixedRows: number,
      ptr: Int32Array,
      idx: Int32Array,
      strength: Float32Array | undefined,
    ) => {
      const gram = gramian(fixed, fixedRows, k);
      const step: HalfStep = { target, fixed, gram, ptr, idx, strength, k, alpha, lambda, cgSteps };
      if (pool) await pool.solve(step);
      else solveRows(step, 0, ptr.length - 1);
    };
    try {
      for (let epoch = 0; epoch < epochs; epoch++) {
        await side(users, items, train.nItems, train.userPtr, train.userItems, byUser);
        await side(items, users, train.nUsers, train.itemPtr, train.itemUsers, byItem);
      }
    } finally {
      await pool?.close();
    }
    this.userFactors = users;
    this.itemFactors = items;
    this.itemGram = gramian(items, train.nItems, k);
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

/**
 * The iALS half-step kernel, kept free of class state so the same code runs on
 * the main thread and inside worker threads over shared factor buffers.
 *
 * For each row r (a user, or an item when solving the other side) with
 * positives P_r of strength sᵢ (1 unless weighted) and fixed factors Y, iALS
 * (Hu, Koren & Volinsky 2008) with confidence 1 + α·sᵢ on positives and 1
 * elsewhere solves
 *   (YᵀY + α·Σ_{i∈P_r} sᵢ·yᵢyᵢᵀ + λI) x_r = Σ_{i∈P_r} (1 + α·sᵢ)·yᵢ.
 * YᵀY is shared by every row, so one CG step costs O(k² + |P_r|·k) instead
 * of forming and factoring a k×k system per row.
 */
import { type KernelStep, solveRowsInKernel } from './ials-kernel';

export interface HalfStep {
  /** Factors being solved for, rows × k, updated in place (warm start). */
  target: Float32Array;
  /** Factors held fixed, (other side's rows) × k. */
  fixed: Float32Array;
  /** Gramian of `fixed`, k × k. */
  gram: Float64Array;
  /** Sparse positives of each target row (CSR for users, CSC for items). */
  ptr: Int32Array;
  idx: Int32Array;
  /** Aligned with idx: per-positive strength sᵢ; omitted means every positive has strength 1. */
  strength?: Float32Array;
  k: number;
  alpha: number;
  lambda: number;
  cgSteps: number;
  /**
   * When every array above lives in a kernel arena: the WebAssembly kernel solves instead, with
   * its single-precision G = YᵀY + λI, G⁻¹ and per-thread scratch in the same memory.
   */
  kernel?: Pick<KernelStep, 'memory' | 'gram' | 'inverse' | 'scratch' | 'blocks' | 'totals'>;
}

/** Solves rows [from, to) of one side; `part` picks the calling thread's kernel scratch. */
export function solveRows(step: HalfStep, from: number, to: number, part = 0): void {
  if (step.kernel) {
    solveRowsInKernel({ ...step, ...step.kernel }, from, to, part);
    return;
  }
  const scratch = cgScratch(step.k);
  const x = new Float64Array(step.k);
  for (let r = from; r < to; r++) {
    const positives = step.idx.subarray(step.ptr[r], step.ptr[r + 1]);
    const offset = r * step.k;
    for (let f = 0; f < step.k; f++) x[f] = step.target[offset + f];
    const strength = step.strength?.subarray(step.ptr[r], step.ptr[r + 1]);
    conjugateGradient(step, positives, x, step.cgSteps, scratch, strength);
    for (let f = 0; f < step.k; f++) step.target[offset + f] = x[f];
  }
}

export interface CgScratch {
  b: Float64Array;
  r: Float64Array;
  p: Float64Array;
  ap: Float64Array;
}

export function cgScratch(k: number): CgScratch {
  return { b: new Float64Array(k), r: new Float64Array(k), p: new Float64Array(k), ap: new Float64Array(k) };
}

type RowSystem = Pick<HalfStep, 'fixed' | 'gram' | 'k' | 'alpha' | 'lambda'>;

/**
 * At most `steps` CG iterations on one row's system, starting from (and
 * overwriting) x. `strength` is aligned with `positives`; omitted means all 1.
 */
export function conjugateGradient(
  step: RowSystem,
  positives: ArrayLike<number>,
  x: Float64Array,
  steps: number,
  { b, r, p, ap }: CgScratch,
  strength?: ArrayLike<number>,
): void {
  const { fixed, k, alpha } = step;
  b.fill(0);
  for (let n = 0; n < positives.length; n++) {
    const row = positives[n] * k;
    const c = 1 + alpha * (strength ? strength[n] : 1);
    for (let f = 0; f < k; f++) b[f] += c * fixed[row + f];
  }
  multiply(step, positives, x, ap, strength);
  let rsOld = 0;
  for (let f = 0; f < k; f++) {
    r[f] = b[f] - ap[f];
    p[f] = r[f];
    rsOld += r[f] * r[f];
  }
  for (let s = 0; s < steps && rsOld > 1e-20; s++) {
    multiply(step, positives, p, ap, strength);
    let pAp = 0;
    for (let f = 0; f < k; f++) pAp += p[f] * ap[f];
    const a = rsOld / pAp;
    let rsNew = 0;
    for (let f = 0; f < k; f++) {
      x[f] += a * p[f];
      r[f] -= a * ap[f];
      rsNew += r[f] * r[f];
    }
    const beta = rsNew / rsOld;
    for (let f = 0; f < k; f++) p[f] = r[f] + beta * p[f];
    rsOld = rsNew;
  }
}

/** out = (YᵀY + λI)·v + α·Σ_{i∈P} sᵢ·yᵢ(yᵢ·v) */
function multiply(
  { fixed, gram, k, alpha, lambda }: RowSystem,
  positives: ArrayLike<number>,
  v: Float64Array,
  out: Float64Array,
  strength: ArrayLike<number> | undefined,
): void {
  for (let f = 0; f < k; f++) {
    const row = f * k;
    let s = lambda * v[f];
    for (let g = 0; g < k; g++) s += gram[row + g] * v[g];
    out[f] = s;
  }
  for (let n = 0; n < positives.length; n++) {
    const row = positives[n] * k;
    let dot = 0;
    for (let f = 0; f < k; f++) dot += fixed[row + f] * v[f];
    const w = alpha * (strength ? strength[n] : 1) * dot;
    for (let f = 0; f < k; f++) out[f] += w * fixed[row + f];
  }
}

/** YᵀY over `rows` rows of k factors. */
export function gramian(factors: Float32Array, rows: number, k: number): Float64Array {
  const gram = new Float64Array(k * k);
  for (let r = 0; r < rows; r++) {
    const offset = r * k;
    for (let f = 0; f < k; f++) {
      const yf = factors[offset + f];
      if (yf === 0) continue;
      const row = f * k;
      for (let g = f; g < k; g++) gram[row + g] += yf * factors[offset + g];
    }
  }
  for (let f = 0; f < k; f++) for (let g = 0; g < f; g++) gram[f * k + g] = gram[g * k + f];
  return gram;
}

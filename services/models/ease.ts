import { invertSymmetricPositiveDefinite } from './dense-linear-algebra';
import { type InteractionMatrix, itemsOfUser } from './interaction-matrix';
import { recencyWeights } from './recency';
import type { CandidateModel } from './types';

export interface EaseParams {
  /** L2 penalty on the item-item weights; a few hundred suits ML-100K-sized Gram matrices. */
  lambda: number;
  /**
   * When set, a user's history is weighted by recency (half-life in items, see
   * `recencyWeights`) when scoring; left unset every item counts equally.
   */
  recencyHalfLife?: number;
}

/**
 * EASE (Steck 2019): item-item weights B = I − P·diag(1/diag(P)) with
 * P = (XᵀX + λI)⁻¹, i.e. the closed-form ridge regression of every item on
 * all the others with a zero self-weight.
 */
export class Ease implements CandidateModel {
  readonly name = 'ease';
  private weights: Float32Array = new Float32Array(0);
  private nItems = 0;
  private train: InteractionMatrix | undefined;
  private historyWeights: Float32Array | undefined;

  constructor(readonly params: EaseParams) {}

  fit(train: InteractionMatrix): void {
    this.weights = easeWeights(train, this.params.lambda);
    this.nItems = train.nItems;
    this.train = train;
    const halfLife = this.params.recencyHalfLife;
    this.historyWeights = halfLife === undefined ? undefined : recencyWeights(train, halfLife);
  }

  /** Score = x_u·B: the (optionally recency-weighted) sum of the weight rows of the user's training items. */
  scoreUser(user: number, out: Float32Array): void {
    const train = this.train;
    if (!train) throw new Error('ease: fit before scoring');
    out.fill(0);
    const n = this.nItems;
    const w = this.weights;
    for (let e = train.userPtr[user]; e < train.userPtr[user + 1]; e++) {
      const x = this.historyWeights ? this.historyWeights[e] : 1;
      const row = train.userItems[e] * n;
      for (let j = 0; j < n; j++) out[j] += x * w[row + j];
    }
  }
}

/**
 * B depends only on (train, λ), so grid points that differ only in history
 * weighting share one multi-second inversion. Keyed weakly: the weights go
 * when their matrix does.
 */
const weightsCache = new WeakMap<InteractionMatrix, Map<number, Float32Array>>();

function easeWeights(train: InteractionMatrix, lambda: number): Float32Array {
  let byLambda = weightsCache.get(train);
  if (!byLambda) {
    byLambda = new Map();
    weightsCache.set(train, byLambda);
  }
  const cached = byLambda.get(lambda);
  if (cached) return cached;
  const n = train.nItems;
  const gram = itemGramian(train);
  for (let i = 0; i < n; i++) gram[i * n + i] += lambda;
  const p = invertSymmetricPositiveDefinite(gram, n);
  const weights = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) weights[i * n + j] = i === j ? 0 : -p[i * n + j] / p[j * n + j];
  }
  byLambda.set(lambda, weights);
  return weights;
}

/** XᵀX for binary X, accumulated one user row at a time (cost Σ_u |I_u|², ~2e7 on ML-100K). */
export function itemGramian(train: InteractionMatrix): Float64Array {
  const n = train.nItems;
  const gram = new Float64Array(n * n);
  for (let u = 0; u < train.nUsers; u++) {
    const items = itemsOfUser(train, u);
    for (const i of items) {
      const row = i * n;
      for (const j of items) gram[row + j] += 1;
    }
  }
  return gram;
}

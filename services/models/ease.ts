import { invertSymmetricPositiveDefinite } from './dense-linear-algebra';
import { type InteractionMatrix, itemsOfUser } from './interaction-matrix';
import type { CandidateModel } from './types';

export interface EaseParams {
  /** L2 penalty on the item-item weights; larger values shrink toward popularity-free co-occurrence. */
  lambda: number;
}

/**
 * EASE (Steck 2019): item-item weights B = I − P·diag(1/diag(P)) with
 * P = (XᵀX + λI)⁻¹, i.e. the closed-form ridge regression of every item on
 * all the others with a zero self-weight.
 */
export class Ease implements CandidateModel {
  readonly name = 'ease';
  private weights = new Float32Array(0);
  private nItems = 0;
  private train: InteractionMatrix | undefined;

  constructor(readonly params: EaseParams) {}

  fit(train: InteractionMatrix): void {
    const n = train.nItems;
    const gram = itemGramian(train);
    for (let i = 0; i < n; i++) gram[i * n + i] += this.params.lambda;
    const p = invertSymmetricPositiveDefinite(gram, n);
    const weights = new Float32Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) weights[i * n + j] = i === j ? 0 : -p[i * n + j] / p[j * n + j];
    }
    this.weights = weights;
    this.nItems = n;
    this.train = train;
  }

  /** Score = Σ over the user's training items of that item's weight row: x_u·B. */
  scoreUser(user: number, out: Float32Array): void {
    if (!this.train) throw new Error('ease: fit before scoring');
    out.fill(0);
    const n = this.nItems;
    const w = this.weights;
    for (const item of itemsOfUser(this.train, user)) {
      const row = item * n;
      for (let j = 0; j < n; j++) out[j] += w[row + j];
    }
  }
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

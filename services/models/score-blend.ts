import type { InteractionMatrix } from './interaction-matrix';
import type { CandidateModel } from './types';

export interface BlendComponent {
  model: CandidateModel;
  weight: number;
}

/**
 * Weighted sum of per-user standardised scores. EASE and iALS scores live on
 * unrelated scales, so each component is z-scored over the catalogue before
 * mixing; the weights are then comparable and can be chosen on validation.
 */
export class ScoreBlend implements CandidateModel {
  readonly name: string;
  private scratch: Float32Array = new Float32Array(0);

  constructor(
    readonly components: readonly BlendComponent[],
    name?: string,
  ) {
    this.name = name ?? components.map((c) => c.model.name).join('+');
  }

  async fit(train: InteractionMatrix): Promise<void> {
    for (const { model } of this.components) await model.fit(train);
  }

  scoreUser(user: number, out: Float32Array): void {
    if (this.scratch.length !== out.length) this.scratch = new Float32Array(out.length);
    const scratch = this.scratch;
    out.fill(0);
    for (const { model, weight } of this.components) {
      if (weight === 0) continue;
      model.scoreUser(user, scratch);
      const { mean, std } = moments(scratch);
      const scale = std > 0 ? weight / std : 0;
      for (let i = 0; i < out.length; i++) out[i] += (scratch[i] - mean) * scale;
    }
  }
}

function moments(values: Float32Array): { mean: number; std: number } {
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    sumSquares += values[i] * values[i];
  }
  const mean = sum / values.length;
  return { mean, std: Math.sqrt(Math.max(0, sumSquares / values.length - mean * mean)) };
}

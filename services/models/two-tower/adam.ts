import type { Floats } from './onnx-graph';

export interface AdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/**
 * Adam (Kingma & Ba 2015) over a fixed list of arrays. Embedding tables are
 * updated densely: rows absent from a batch still move on their momentum,
 * which at ML-100K sizes costs about a millisecond per step.
 */
export class Adam {
  private readonly firstMoments: Float32Array[];
  private readonly secondMoments: Float32Array[];
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private steps = 0;

  constructor(
    private readonly parameters: readonly Floats[],
    private readonly options: AdamOptions,
  ) {
    this.firstMoments = parameters.map((p) => new Float32Array(p.length));
    this.secondMoments = parameters.map((p) => new Float32Array(p.length));
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
  }

  /** `gradients` is aligned with the parameter list given to the constructor. */
  step(gradients: readonly Floats[]): void {
    this.steps++;
    const { beta1, beta2, epsilon } = this;
    const stepSize =
      (this.options.learningRate * Math.sqrt(1 - beta2 ** this.steps)) / (1 - beta1 ** this.steps);
    for (let p = 0; p < this.parameters.length; p++) {
      const values = this.parameters[p];
      const gradient = gradients[p];
      const m = this.firstMoments[p];
      const v = this.secondMoments[p];
      for (let n = 0; n < values.length; n++) {
        const g = gradient[n];
        m[n] = beta1 * m[n] + (1 - beta1) * g;
        v[n] = beta2 * v[n] + (1 - beta2) * g * g;
        values[n] -= (stepSize * m[n]) / (Math.sqrt(v[n]) + epsilon);
      }
    }
  }
}

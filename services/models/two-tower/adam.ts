import type { Floats } from './onnx-graph';
import type { RowSet } from './row-set';

export interface AdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

interface Decay {
  beta1: number;
  beta2: number;
  epsilon: number;
}

/**
 * Tables with more rows than this are updated lazily. A dense update costs every row on every
 * step (128M values at a million items, where a batch touches tens of thousands of rows), but
 * on small tables it learns better: rows keep moving on their momentum between batches.
 */
const LAZY_ABOVE_ROWS = 50_000;

/**
 * Adam (Kingma & Ba 2015) over a fixed list of arrays. An embedding table is given with the
 * rows its gradient touched; its other rows' gradients are zero, whatever the array holds. A
 * large table is updated lazily, as TensorFlow's LazyAdam: only the touched rows and their
 * moments move.
 */
export class Adam {
  private readonly firstMoments: Float32Array[];
  private readonly secondMoments: Float32Array[];
  private readonly decay: Decay;
  private steps = 0;

  constructor(
    private readonly parameters: readonly Floats[],
    private readonly options: AdamOptions,
  ) {
    this.firstMoments = parameters.map((p) => new Float32Array(p.length));
    this.secondMoments = parameters.map((p) => new Float32Array(p.length));
    this.decay = {
      beta1: options.beta1 ?? 0.9,
      beta2: options.beta2 ?? 0.999,
      epsilon: options.epsilon ?? 1e-8,
    };
  }

  /**
   * `gradients` and `touched` are aligned with the parameter list given to the constructor;
   * an array without touched rows is a dense gradient.
   */
  step(gradients: readonly Floats[], touched: readonly (RowSet | undefined)[] = []): void {
    this.steps++;
    const { beta1, beta2 } = this.decay;
    const stepSize =
      (this.options.learningRate * Math.sqrt(1 - beta2 ** this.steps)) / (1 - beta1 ** this.steps);
    for (let p = 0; p < this.parameters.length; p++) {
      const values = this.parameters[p];
      const m = this.firstMoments[p];
      const v = this.secondMoments[p];
      const rows = touched[p];
      if (rows === undefined) {
        update(values, gradients[p], m, v, 0, values.length, stepSize, this.decay);
        continue;
      }
      const w = rows.width;
      if (rows.capacity > LAZY_ABOVE_ROWS) {
        for (const row of rows.rows())
          update(values, gradients[p], m, v, row * w, (row + 1) * w, stepSize, this.decay);
        continue;
      }
      for (let row = 0; row < rows.capacity; row++) {
        const gradient = rows.has(row) ? gradients[p] : undefined;
        update(values, gradient, m, v, row * w, (row + 1) * w, stepSize, this.decay);
      }
    }
  }
}

/** Rows [from, to) of one array; an undefined gradient is zero there, whatever the array holds. */
function update(
  values: Floats,
  gradient: Floats | undefined,
  m: Float32Array,
  v: Float32Array,
  from: number,
  to: number,
  stepSize: number,
  { beta1, beta2, epsilon }: Decay,
): void {
  for (let n = from; n < to; n++) {
    const g = gradient === undefined ? 0 : gradient[n];
    m[n] = beta1 * m[n] + (1 - beta1) * g;
    v[n] = beta2 * v[n] + (1 - beta2) * g * g;
    values[n] -= (stepSize * m[n]) / (Math.sqrt(v[n]) + epsilon);
  }
}

import {
  LAYER_WEIGHTS,
  TOWERS,
  type Tower,
  type TowerShapes,
  type TowerWeights,
  weightShape,
} from './graphs';
import { allocate, type Floats, type Precision } from './onnx-graph';

export const EMBEDDING_TABLES = ['userId', 'history', 'itemId', 'title'] as const;
export type EmbeddingTable = (typeof EMBEDDING_TABLES)[number];

/** Embedding tables are row-major [rows × embeddingDim]; gradients use the same structure. */
export interface Parameters {
  embeddings: Record<EmbeddingTable, Floats>;
  towers: Record<Tower, TowerWeights>;
}

export type TableRows = Record<EmbeddingTable, number>;

export interface ParameterShapes {
  rows: TableRows;
  embeddingDim: number;
  towers: TowerShapes;
}

type Role = { kind: 'embedding' } | { kind: 'bias' } | { kind: 'weight'; fanIn: number; fanOut: number };

function mapParameters(shapes: ParameterShapes, make: (length: number, role: Role) => Floats): Parameters {
  const d = shapes.embeddingDim;
  const embeddings = Object.fromEntries(
    EMBEDDING_TABLES.map((table) => [table, make(shapes.rows[table] * d, { kind: 'embedding' })]),
  ) as Record<EmbeddingTable, Floats>;
  const towers = Object.fromEntries(
    TOWERS.map((tower) => {
      const weights = Object.fromEntries(
        LAYER_WEIGHTS.map((weight) => {
          const [rows, columns] = weightShape(shapes.towers[tower], weight);
          const role: Role =
            columns === undefined ? { kind: 'bias' } : { kind: 'weight', fanIn: rows, fanOut: columns };
          return [weight, make(rows * (columns ?? 1), role)];
        }),
      ) as TowerWeights;
      return [tower, weights];
    }),
  ) as Record<Tower, TowerWeights>;
  return { embeddings, towers };
}

export function zeroParameters(shapes: ParameterShapes, precision: Precision): Parameters {
  return mapParameters(shapes, (length) => allocate(precision, length));
}

/**
 * Glorot-uniform dense weights, zero biases, small uniform embeddings. The
 * embedding scale keeps id, pooled-history and title blocks on a par with the
 * 0/1 side features they are concatenated with.
 */
export function initialParameters(
  shapes: ParameterShapes,
  precision: Precision,
  random: () => number,
  embeddingScale = 0.1,
): Parameters {
  return mapParameters(shapes, (length, role) => {
    const values = allocate(precision, length);
    if (role.kind === 'bias') return values;
    const bound = role.kind === 'weight' ? Math.sqrt(6 / (role.fanIn + role.fanOut)) : embeddingScale;
    for (let n = 0; n < length; n++) values[n] = (2 * random() - 1) * bound;
    return values;
  });
}

/** Every array of a parameter set, in one fixed order, for updates that treat them alike. */
export function parameterArrays(p: Parameters): Floats[] {
  return [
    ...EMBEDDING_TABLES.map((table) => p.embeddings[table]),
    ...TOWERS.flatMap((tower) => LAYER_WEIGHTS.map((weight) => p.towers[tower][weight])),
  ];
}

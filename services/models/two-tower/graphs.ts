/**
 * ONNX graphs of the two towers. Each tower is features → Dense+ReLU → Dense →
 * L2 normalisation. The training step graph holds the forward pass, the
 * in-batch softmax loss and its hand-derived backward pass as ordinary nodes
 * (onnxruntime-node has no training API), so one onnxruntime call
 * returns the loss and every dense gradient.
 */
import { type Floats, GraphBuilder, type Precision } from './onnx-graph';

export type Tower = 'user' | 'item';
export const TOWERS: readonly Tower[] = ['user', 'item'];

export interface TowerShape {
  input: number;
  hidden: number;
  output: number;
}

export const LAYER_WEIGHTS = ['w1', 'b1', 'w2', 'b2'] as const;
export type LayerWeight = (typeof LAYER_WEIGHTS)[number];
export type TowerWeights = Record<LayerWeight, Floats>;

export function weightName(tower: Tower, weight: LayerWeight): string {
  return `${tower}.${weight}`;
}

export function gradientName(tower: Tower, weight: LayerWeight): string {
  return `grad.${tower}.${weight}`;
}

export function weightShape(shape: TowerShape, weight: LayerWeight): number[] {
  switch (weight) {
    case 'w1':
      return [shape.input, shape.hidden];
    case 'b1':
      return [shape.hidden];
    case 'w2':
      return [shape.hidden, shape.output];
    case 'b2':
      return [shape.output];
  }
}

/** Keeps the gradient of the normalisation finite for an all-zero pre-activation. */
const NORM_EPSILON = 1e-12;

interface Activations {
  x: string;
  h: string;
  norm: string;
  y: string;
}

function towerForward(g: GraphBuilder, tower: Tower, x: string): Activations {
  const w = (weight: LayerWeight) => weightName(tower, weight);
  const h = g.op('Relu', [g.op('Gemm', [x, w('w1'), w('b1')])]);
  const z = g.op('Gemm', [h, w('w2'), w('b2')]);
  const squares = g.op('ReduceSum', [g.op('Mul', [z, z]), g.int64s([1])], { keepdims: { int: 1 } });
  const norm = g.op('Sqrt', [g.op('Add', [squares, g.scalar(NORM_EPSILON)])]);
  return { x, h, norm, y: g.op('Div', [z, norm]) };
}

/** Emits `grad.<tower>.*` outputs and returns the gradient with respect to the tower's features. */
function towerBackward(g: GraphBuilder, tower: Tower, a: Activations, dy: string): string {
  const w = (weight: LayerWeight) => weightName(tower, weight);
  const grad = (weight: LayerWeight) => gradientName(tower, weight);
  // y = z/‖z‖ ⇒ dz = (dy − y·⟨dy, y⟩) / ‖z‖.
  const radial = g.op('ReduceSum', [g.op('Mul', [dy, a.y]), g.int64s([1])], { keepdims: { int: 1 } });
  const dz = g.op('Div', [g.op('Sub', [dy, g.op('Mul', [a.y, radial])]), a.norm]);
  g.op('Gemm', [a.h, dz], { transA: { int: 1 } }, grad('w2'));
  g.op('ReduceSum', [dz, g.int64s([0])], { keepdims: { int: 0 } }, grad('b2'));
  // h = relu(·) ≥ 0, so sign(h) is exactly the ReLU derivative (0 at the kink).
  const dh = g.op('Mul', [g.op('Gemm', [dz, w('w2')], { transB: { int: 1 } }), g.op('Sign', [a.h])]);
  g.op('Gemm', [a.x, dh], { transA: { int: 1 } }, grad('w1'));
  g.op('ReduceSum', [dh, g.int64s([0])], { keepdims: { int: 0 } }, grad('b1'));
  return g.op('Gemm', [dh, w('w1')], { transB: { int: 1 } });
}

function declareWeightInputs(g: GraphBuilder, tower: Tower, shape: TowerShape): void {
  for (const weight of LAYER_WEIGHTS) g.floatInput(weightName(tower, weight), weightShape(shape, weight));
}

export type TowerShapes = Record<Tower, TowerShape>;

/**
 * One optimisation step's numbers for a batch of B (user, item) positives:
 * row a's positive is column a, every other column is a sampled negative.
 * `logit_offset` carries −logQ(item) per column and a large negative value
 * where a column's item is a known positive of row a's user. B is fixed at
 * build time so 1/B folds into Gemm coefficients; the trainer drops the
 * ragged last batch of an epoch.
 *
 * Inputs: user_features [B, Du], item_features [B, Di], logit_offset [B, B], tower weights.
 * Outputs: loss (mean cross-entropy), grad.<tower>.<weight>, grad.user_features, grad.item_features.
 */
export function trainingStepGraph(
  shapes: TowerShapes,
  batchSize: number,
  temperature: number,
  precision: Precision,
): Uint8Array {
  const g = new GraphBuilder(precision, 'two_tower_training_step');
  const b = batchSize;
  const user = towerForward(g, 'user', g.floatInput('user_features', [b, shapes.user.input]));
  const item = towerForward(g, 'item', g.floatInput('item_features', [b, shapes.item.input]));
  const offset = g.floatInput('logit_offset', [b, b]);
  for (const tower of TOWERS) declareWeightInputs(g, tower, shapes[tower]);

  // Few B×B elementwise passes: they cost as much as the matmuls. (Gemm with the
  // offset as its C term measured slower than Gemm followed by Add.)
  const logits = g.op('Add', [
    g.op('Gemm', [user.y, item.y], { transB: { int: 1 }, alpha: { float: 1 / temperature } }),
    offset,
  ]);
  const probabilities = g.op('Softmax', [logits], { axis: { int: 1 } });
  const diagonal = g.int64s(Array.from({ length: b }, (_, a) => a * (b + 1)));
  const positives = g.op('Gather', [g.op('Reshape', [probabilities, g.int64s([-1])]), diagonal]);
  const meanLog = g.op('ReduceMean', [g.op('Log', [positives])], { keepdims: { int: 0 } });
  g.op('Neg', [meanLog], {}, 'loss');

  // ∂loss/∂logits = (P − I)/B and logits = U Vᵀ/τ, so ∂U = (P V − V)/(Bτ) and ∂V = (Pᵀ U − U)/(Bτ).
  const scale = 1 / (b * temperature);
  const coefficients = { alpha: { float: scale }, beta: { float: -scale } };
  const dUser = g.op('Gemm', [probabilities, item.y, item.y], coefficients);
  const dItem = g.op('Gemm', [probabilities, user.y, user.y], { ...coefficients, transA: { int: 1 } });
  g.alias(towerBackward(g, 'user', user, dUser), 'grad.user_features');
  g.alias(towerBackward(g, 'item', item, dItem), 'grad.item_features');

  g.output('loss', []);
  for (const tower of TOWERS) {
    for (const weight of LAYER_WEIGHTS)
      g.output(gradientName(tower, weight), weightShape(shapes[tower], weight));
  }
  g.output('grad.user_features', [b, shapes.user.input]);
  g.output('grad.item_features', [b, shapes.item.input]);
  return g.encode();
}

/** The forward half of the training graph for one tower: features [n, D] → vector [n, d]. */
export function towerGraph(tower: Tower, shape: TowerShape, precision: Precision): Uint8Array {
  const g = new GraphBuilder(precision, `two_tower_${tower}`);
  const forward = towerForward(g, tower, g.floatInput('features', ['n', shape.input]));
  declareWeightInputs(g, tower, shape);
  g.alias(forward.y, 'vector');
  g.output('vector', ['n', shape.output]);
  return g.encode();
}

function weightInitializers(g: GraphBuilder, tower: Tower, shape: TowerShape, weights: TowerWeights): void {
  for (const weight of LAYER_WEIGHTS) {
    g.floatInitializer(weightName(tower, weight), weightShape(shape, weight), weights[weight]);
  }
}

/** Σ_k weights[n, k] · table[indices[n, k]]: a weighted bag of embedding rows. */
function pooledRows(g: GraphBuilder, table: string, indices: string, weights: string): string {
  const rows = g.op('Gather', [table, indices]);
  const weighted = g.op('Mul', [rows, g.op('Unsqueeze', [weights, g.int64s([2])])]);
  return g.op('ReduceSum', [weighted, g.int64s([1])], { keepdims: { int: 0 } });
}

export interface UserTowerExport {
  shape: TowerShape;
  weights: TowerWeights;
  userEmbeddings: Floats;
  historyEmbeddings: Floats;
  embeddingDim: number;
  demographicsWidth: number;
}

/**
 * Self-contained user tower for serving. Inputs: user_index int64 [n] (the number of fitted
 * users for a new user), history_items int64 [n, h] with history_weights [n, h] (1/|history|
 * per real entry, 0 for padding), demographics [n, W]. Output: user_vector [n, d].
 */
export function exportUserTower(spec: UserTowerExport): Uint8Array {
  const g = new GraphBuilder('float32', 'two_tower_user');
  const d = spec.embeddingDim;
  // One zero row past the fitted users is the index of a user the model never saw: what a
  // training row with its user id dropped looked like.
  const fitted = spec.userEmbeddings.length / d;
  const userRows = new Float32Array((fitted + 1) * d);
  userRows.set(spec.userEmbeddings);
  const userTable = g.floatInitializer('user_embeddings', [fitted + 1, d], userRows);
  const historyTable = g.floatInitializer(
    'history_embeddings',
    [spec.historyEmbeddings.length / d, d],
    spec.historyEmbeddings,
  );
  const userId = g.op('Gather', [userTable, g.int64Input('user_index', ['n'])]);
  const history = pooledRows(
    g,
    historyTable,
    g.int64Input('history_items', ['n', 'h']),
    g.floatInput('history_weights', ['n', 'h']),
  );
  const demographics = g.floatInput('demographics', ['n', spec.demographicsWidth]);
  const features = g.op('Concat', [userId, history, demographics], { axis: { int: 1 } });
  weightInitializers(g, 'user', spec.shape, spec.weights);
  g.alias(towerForward(g, 'user', features).y, 'user_vector');
  g.output('user_vector', ['n', spec.shape.output]);
  return g.encode();
}

export interface ItemTowerExport {
  shape: TowerShape;
  weights: TowerWeights;
  itemEmbeddings: Floats;
  titleEmbeddings: Floats;
  embeddingDim: number;
  contentWidth: number;
}

/**
 * Self-contained item tower for serving. Inputs: item_index int64 [n],
 * id_known [n, 1] (1 for a catalogue item, 0 for a cold one: its id embedding
 * is zeroed), content [n, W] (genre multi-hot, year-bucket one-hot),
 * title_tokens int64 [n, t] with title_weights [n, t]. Output: item_vector [n, d].
 */
export function exportItemTower(spec: ItemTowerExport): Uint8Array {
  const g = new GraphBuilder('float32', 'two_tower_item');
  const d = spec.embeddingDim;
  const itemTable = g.floatInitializer(
    'item_embeddings',
    [spec.itemEmbeddings.length / d, d],
    spec.itemEmbeddings,
  );
  const titleTable = g.floatInitializer(
    'title_embeddings',
    [spec.titleEmbeddings.length / d, d],
    spec.titleEmbeddings,
  );
  const idKnown = g.floatInput('id_known', ['n', 1]);
  const itemId = g.op('Mul', [g.op('Gather', [itemTable, g.int64Input('item_index', ['n'])]), idKnown]);
  const content = g.floatInput('content', ['n', spec.contentWidth]);
  const title = pooledRows(
    g,
    titleTable,
    g.int64Input('title_tokens', ['n', 't']),
    g.floatInput('title_weights', ['n', 't']),
  );
  const features = g.op('Concat', [itemId, idKnown, content, title], { axis: { int: 1 } });
  weightInitializers(g, 'item', spec.shape, spec.weights);
  g.alias(towerForward(g, 'item', features).y, 'item_vector');
  g.output('item_vector', ['n', spec.shape.output]);
  return g.encode();
}

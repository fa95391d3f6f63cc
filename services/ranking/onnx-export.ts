/**
 * XGBoost tree ensembles as ONNX-ML graphs (TreeEnsembleRegressor, plus a Sigmoid for
 * logistic objectives), so the serving path can score with onnxruntime instead of libxgboost.
 */
import { onnx } from 'onnx-proto';
import { z } from 'zod';

/** Graph input: row-major float32 features, one row per (user, item) pair. */
export const ONNX_INPUT = 'features';
/** Graph output: what XGBoost's own predict returns (a probability for logistic objectives). */
export const ONNX_OUTPUT = 'prediction';

/** 1.7's writer emits 0/1 for booleans; later versions may emit true/false. */
const flag = z.union([z.number(), z.boolean()]).transform((v) => v === true || v === 1);
/** Learner parameters are serialised as strings such as "5E-1". */
const numeric = z.string().transform(Number);

const treeSchema = z.object({
  left_children: z.array(z.number().int()),
  right_children: z.array(z.number().int()),
  split_indices: z.array(z.number().int()),
  split_conditions: z.array(z.number()),
  default_left: z.array(flag),
  split_type: z.array(z.number().int()).optional(),
});

const modelSchema = z.object({
  learner: z.object({
    learner_model_param: z.object({ base_score: numeric, num_feature: numeric, num_class: numeric }),
    objective: z.object({ name: z.string() }),
    gradient_booster: z.object({
      name: z.literal('gbtree'),
      model: z.object({
        gbtree_model_param: z.object({ num_parallel_tree: numeric }),
        trees: z.array(treeSchema),
      }),
    }),
  }),
});

type XgboostTree = z.output<typeof treeSchema>;

export interface TreeEnsemble {
  trees: XgboostTree[];
  featureCount: number;
  objective: string;
  /** Base score as XGBoost stores it: in probability space for logistic objectives. */
  baseScore: number;
}

const LOGISTIC_OBJECTIVES = new Set(['binary:logistic', 'reg:logistic']);
const IDENTITY_OBJECTIVES = new Set(['reg:squarederror']);

/** Parses XGBoost's JSON model, refusing the layouts this exporter would get wrong. */
export function readTreeEnsemble(modelJson: string): TreeEnsemble {
  const { learner } = modelSchema.parse(JSON.parse(modelJson));
  const objective = learner.objective.name;
  if (!LOGISTIC_OBJECTIVES.has(objective) && !IDENTITY_OBJECTIVES.has(objective)) {
    throw new Error(`onnx export: objective ${objective} is not supported`);
  }
  if (learner.learner_model_param.num_class > 1) throw new Error('onnx export: multi-class models');
  const trees = learner.gradient_booster.model.trees;
  for (const [t, tree] of trees.entries()) {
    if (tree.split_type?.some((type) => type !== 0)) {
      throw new Error(`onnx export: tree ${t} has categorical splits`);
    }
  }
  return {
    trees,
    featureCount: learner.learner_model_param.num_feature,
    objective,
    baseScore: learner.learner_model_param.base_score,
  };
}

/**
 * The margin every row starts from. Logistic objectives keep base_score as a probability and
 * add its logit to the trees' sum, which XGBoost computes in float32 as −log(1/p − 1).
 */
export function baseMargin(ensemble: TreeEnsemble): number {
  if (!LOGISTIC_OBJECTIVES.has(ensemble.objective)) return ensemble.baseScore;
  const p = Math.fround(ensemble.baseScore);
  return Math.fround(-Math.log(Math.fround(Math.fround(1 / p) - 1)));
}

function ints(name: string, values: number[]): onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: values };
}

function floats(name: string, values: number[]): onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.FLOATS, floats: values };
}

function strings(name: string, values: string[]): onnx.IAttributeProto {
  const encoder = new TextEncoder();
  return {
    name,
    type: onnx.AttributeProto.AttributeType.STRINGS,
    strings: values.map((v) => encoder.encode(v)),
  };
}

function text(name: string, value: string): onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(value) };
}

/**
 * TreeEnsembleRegressor attributes for the ensemble. XGBoost sends a row left when
 * `value < threshold`, which is BRANCH_LT with left as the "true" branch, and a missing
 * (NaN) value follows default_left, which is therefore `nodes_missing_value_tracks_true`.
 * Leaves keep their value in split_conditions.
 */
function treeEnsembleAttributes(ensemble: TreeEnsemble): onnx.IAttributeProto[] {
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const thresholds: number[] = [];
  const modes: string[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const missingTracksTrue: number[] = [];
  const leafTreeIds: number[] = [];
  const leafNodeIds: number[] = [];
  const leafWeights: number[] = [];
  for (const [t, tree] of ensemble.trees.entries()) {
    for (let n = 0; n < tree.left_children.length; n++) {
      const isLeaf = tree.left_children[n] === -1;
      treeIds.push(t);
      nodeIds.push(n);
      featureIds.push(isLeaf ? 0 : tree.split_indices[n]);
      thresholds.push(isLeaf ? 0 : tree.split_conditions[n]);
      modes.push(isLeaf ? 'LEAF' : 'BRANCH_LT');
      trueIds.push(isLeaf ? 0 : tree.left_children[n]);
      falseIds.push(isLeaf ? 0 : tree.right_children[n]);
      missingTracksTrue.push(!isLeaf && tree.default_left[n] ? 1 : 0);
      if (isLeaf) {
        leafTreeIds.push(t);
        leafNodeIds.push(n);
        leafWeights.push(tree.split_conditions[n]);
      }
    }
  }
  return [
    { name: 'n_targets', type: onnx.AttributeProto.AttributeType.INT, i: 1 },
    ints('nodes_treeids', treeIds),
    ints('nodes_nodeids', nodeIds),
    ints('nodes_featureids', featureIds),
    floats('nodes_values', thresholds),
    strings('nodes_modes', modes),
    ints('nodes_truenodeids', trueIds),
    ints('nodes_falsenodeids', falseIds),
    ints('nodes_missing_value_tracks_true', missingTracksTrue),
    ints('target_treeids', leafTreeIds),
    ints('target_nodeids', leafNodeIds),
    ints(
      'target_ids',
      leafTreeIds.map(() => 0),
    ),
    floats('target_weights', leafWeights),
    floats('base_values', [baseMargin(ensemble)]),
    text('aggregate_function', 'SUM'),
    text('post_transform', 'NONE'),
  ];
}

function floatTensorType(dims: (number | string)[]): onnx.ITypeProto {
  return {
    tensorType: {
      elemType: onnx.TensorProto.DataType.FLOAT,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  };
}

/**
 * A serialised ONNX model mapping `features` [batch, featureCount] to `prediction` [batch, 1],
 * equal to XGBoost's transformed prediction (probability for logistic objectives).
 */
export function treeEnsembleToOnnx(ensemble: TreeEnsemble, graphName: string): Uint8Array {
  const logistic = LOGISTIC_OBJECTIVES.has(ensemble.objective);
  const nodes: onnx.INodeProto[] = [
    {
      opType: 'TreeEnsembleRegressor',
      domain: 'ai.onnx.ml',
      input: [ONNX_INPUT],
      output: [logistic ? 'margin' : ONNX_OUTPUT],
      attribute: treeEnsembleAttributes(ensemble),
    },
  ];
  if (logistic) nodes.push({ opType: 'Sigmoid', input: ['margin'], output: [ONNX_OUTPUT] });
  return encodeScoringGraph(graphName, nodes, [], ensemble.featureCount);
}

/**
 * One graph for the whole ranker: each head's trees, its probability clamped like
 * `combineHeads` does, and Σ weight · ln p as `prediction` [batch, 1], so serving scores a
 * batch in a single run. Heads with weight 0 are left out; every head must be logistic.
 */
export function rankerToOnnx(
  heads: readonly { ensemble: TreeEnsemble; weight: number; name: string }[],
): Uint8Array {
  const used = heads.filter((h) => h.weight !== 0);
  if (used.length === 0) throw new Error('onnx export: a ranker needs a head with a non-zero weight');
  const scalar = (name: string, value: number): onnx.ITensorProto => ({
    name,
    dataType: onnx.TensorProto.DataType.FLOAT,
    dims: [],
    floatData: [value],
  });
  const initializer: onnx.ITensorProto[] = [scalar('floor', 1e-12)];
  const nodes: onnx.INodeProto[] = [];
  for (const { ensemble, weight, name } of used) {
    if (!LOGISTIC_OBJECTIVES.has(ensemble.objective))
      throw new Error(`onnx export: head ${name} is not logistic (${ensemble.objective})`);
    initializer.push(scalar(`${name}_weight`, weight));
    nodes.push(
      {
        opType: 'TreeEnsembleRegressor',
        domain: 'ai.onnx.ml',
        input: [ONNX_INPUT],
        output: [`${name}_margin`],
        attribute: treeEnsembleAttributes(ensemble),
      },
      { opType: 'Sigmoid', input: [`${name}_margin`], output: [`${name}_p`] },
      { opType: 'Max', input: [`${name}_p`, 'floor'], output: [`${name}_clamped`] },
      { opType: 'Log', input: [`${name}_clamped`], output: [`${name}_log`] },
      { opType: 'Mul', input: [`${name}_log`, `${name}_weight`], output: [`${name}_term`] },
    );
  }
  nodes.push({ opType: 'Sum', input: used.map(({ name }) => `${name}_term`), output: [ONNX_OUTPUT] });
  return encodeScoringGraph('ranker', nodes, initializer, used[0].ensemble.featureCount);
}

/** A model over `features` [batch, featureCount] giving `prediction` [batch, 1], as serving runs it. */
function encodeScoringGraph(
  name: string,
  node: onnx.INodeProto[],
  initializer: onnx.ITensorProto[],
  featureCount: number,
): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'ai.onnx.ml', version: 3 },
    ],
    producerName: 'cairn-ranking',
    graph: {
      name,
      node,
      initializer,
      input: [{ name: ONNX_INPUT, type: floatTensorType(['batch', featureCount]) }],
      output: [{ name: ONNX_OUTPUT, type: floatTensorType(['batch', 1]) }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

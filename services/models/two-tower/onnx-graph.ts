/**
 * A thin builder over onnx-proto for the two-tower graphs. Every graph is
 * built for one floating precision: float32 for training and serving, float64
 * so gradient checks are not drowned in rounding.
 */
import { onnx } from 'onnx-proto';

export type Precision = 'float32' | 'float64';
export type Floats = Float32Array | Float64Array;
/** A dimension is a size or a symbolic name (e.g. "n") fixed at run time. */
export type Dim = number | string;

const OPSET = 17;
const DataType = onnx.TensorProto.DataType;

export function allocate(precision: Precision, length: number): Floats {
  return precision === 'float32' ? new Float32Array(length) : new Float64Array(length);
}

/** Tagged so an integral float (e.g. 1/τ = 20) is not mistaken for an INT attribute. */
export type Attribute = { int: number } | { ints: readonly number[] } | { float: number };

export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private nextName = 0;

  constructor(
    readonly precision: Precision,
    private readonly name: string,
  ) {}

  private get floatType(): onnx.TensorProto.DataType {
    return this.precision === 'float32' ? DataType.FLOAT : DataType.DOUBLE;
  }

  floatInput(name: string, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, this.floatType, dims));
    return name;
  }

  int64Input(name: string, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, DataType.INT64, dims));
    return name;
  }

  output(name: string, dims: readonly Dim[]): void {
    this.outputs.push(valueInfo(name, this.floatType, dims));
  }

  /** Copies `values`, so later optimiser steps do not leak into an exported graph. */
  floatInitializer(name: string, dims: readonly number[], values: Floats): string {
    const data = this.precision === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
    // ONNX raw data is little-endian, as are typed arrays on the x86 and ARM hosts this runs on.
    this.initializers.push({
      name,
      dims: [...dims],
      dataType: this.floatType,
      rawData: new Uint8Array(data.buffer),
    });
    return name;
  }

  scalar(value: number): string {
    return this.floatInitializer(this.fresh('const'), [], Float64Array.of(value));
  }

  int64s(values: readonly number[]): string {
    const name = this.fresh('ints');
    this.initializers.push({ name, dims: [values.length], dataType: DataType.INT64, int64Data: [...values] });
    return name;
  }

  /** Adds a single-output node; `output` names it (e.g. a graph output), otherwise a fresh name is used. */
  op(
    opType: string,
    input: readonly string[],
    attributes: Record<string, Attribute> = {},
    output?: string,
  ): string {
    const out = output ?? this.fresh(opType);
    this.nodes.push({
      opType,
      input: [...input],
      output: [out],
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    });
    return out;
  }

  /** Renames a value so it can be declared as a graph output under a stable name. */
  alias(value: string, name: string): string {
    return this.op('Identity', [value], {}, name);
  }

  encode(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'cairn',
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  private fresh(prefix: string): string {
    return `${prefix}_${this.nextName++}`;
  }
}

function valueInfo(
  name: string,
  elemType: onnx.TensorProto.DataType,
  dims: readonly Dim[],
): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: Attribute): onnx.IAttributeProto {
  const Type = onnx.AttributeProto.AttributeType;
  if ('ints' in value) return { name, type: Type.INTS, ints: [...value.ints] };
  if ('int' in value) return { name, type: Type.INT, i: value.int };
  return { name, type: Type.FLOAT, f: value.float };
}

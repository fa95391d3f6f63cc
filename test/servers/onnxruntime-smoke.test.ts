import assert from 'node:assert/strict';
import { test } from 'node:test';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';

function floatTensor(name: string, dims: number[], values: number[]): onnx.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: values };
}

function floatInput(name: string, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** relu(x·W + b) with W = [[1,-1],[2,0],[0,3]] and b = [0.5,-10]. */
function denseReluModel(): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'cairn-test',
    graph: {
      name: 'dense_relu',
      node: [
        { opType: 'MatMul', input: ['x', 'w'], output: ['xw'] },
        { opType: 'Add', input: ['xw', 'b'], output: ['z'] },
        { opType: 'Relu', input: ['z'], output: ['y'] },
      ],
      initializer: [floatTensor('w', [3, 2], [1, -1, 2, 0, 0, 3]), floatTensor('b', [2], [0.5, -10])],
      input: [floatInput('x', ['batch', 3])],
      output: [floatInput('y', ['batch', 2])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

test('server smoke (no Cairn code): onnxruntime-node runs a small ONNX model and returns the expected numbers', async () => {
  const session = await ort.InferenceSession.create(denseReluModel());
  const x = new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4, 0, 5]), [2, 3]);
  const { y } = await session.run({ x });
  assert.deepEqual(y.dims, [2, 2]);
  // Row 1: [1+4+0+0.5, -1+0+9-10] = [5.5, 0 (relu of -2)]; row 2: [4+0+0+0.5, -4+0+15-10] = [4.5, 1].
  assert.deepEqual(Array.from(y.data as Float32Array), [5.5, 0, 4.5, 1]);
});

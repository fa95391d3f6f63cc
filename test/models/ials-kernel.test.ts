import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { invertSymmetricPositiveDefinite } from '../../services/models/dense-linear-algebra';
import {
  KernelArena,
  type KernelStep,
  kernelGramian,
  solveRowsInKernel,
  threadScratchBytes,
} from '../../services/models/ials-kernel';
import { assembleKernel, KERNEL_BINARY } from '../../services/models/ials-kernel-assemble';
import { cgScratch, conjugateGradient, gramian } from '../../services/models/ials-solver';
import { mulberry32 } from '../../services/models/random';

const k = 12;
const fixedRows = 40;
const alpha = 3;
const lambda = 0.5;
/** Row 0 has positives 1, 4, 9, 30; row 1 none; row 2 positive 7 only. */
const ptr = [0, 4, 4, 5];
const idx = [1, 4, 9, 30, 7];
const strength = [1, 0.5, 0.25, 2, 1];

function setUp(weighted: boolean, cgSteps: number) {
  const random = mulberry32(7);
  const arena = KernelArena.of(
    [fixedRows * k, 3 * k, ptr.length, idx.length, idx.length, 2 * k * k]
      .map((floats) => floats * 4)
      .concat(threadScratchBytes(k, 1)),
  );
  assert.ok(arena);
  const fixed = arena.float32(fixedRows * k);
  for (let n = 0; n < fixed.length; n++) fixed[n] = random() - 0.5;
  const target = arena.float32(3 * k);
  for (let n = 0; n < target.length; n++) target[n] = random() - 0.5;
  const step: KernelStep = {
    memory: arena.memory,
    target,
    fixed,
    gram: arena.float32(k * k),
    inverse: arena.float32(k * k),
    ptr: arena.int32(ptr.length),
    idx: arena.int32(idx.length),
    strength: weighted ? arena.float32(idx.length) : undefined,
    k,
    alpha,
    cgSteps,
    scratch: arena.float32(3 * k),
    blocks: arena.float32(k * k),
    totals: arena.float64(k * k),
  };
  step.ptr.set(ptr);
  step.idx.set(idx);
  step.strength?.set(strength);
  const gram = gramian(fixed, fixedRows, k);
  const regularised = Float64Array.from(gram, (g, n) => g + (n % (k + 1) === 0 ? lambda : 0));
  step.gram.set(regularised);
  step.inverse?.set(invertSymmetricPositiveDefinite(regularised, k));
  return { step, gram };
}

/** x = (YᵀY + λI + α·Σ sᵢ·yᵢyᵢᵀ)⁻¹ · Σ (1 + α·sᵢ)·yᵢ, formed and inverted densely. */
function directSolve(fixed: Float32Array, gram: Float64Array, row: number, weighted: boolean): number[] {
  const a = Float64Array.from(gram, (g, n) => g + (n % (k + 1) === 0 ? lambda : 0));
  const b = new Float64Array(k);
  for (let n = ptr[row]; n < ptr[row + 1]; n++) {
    const c = alpha * (weighted ? strength[n] : 1);
    const y = fixed.subarray(idx[n] * k, (idx[n] + 1) * k);
    for (let f = 0; f < k; f++) {
      b[f] += (1 + c) * y[f];
      for (let g = 0; g < k; g++) a[f * k + g] += c * y[f] * y[g];
    }
  }
  const inverse = invertSymmetricPositiveDefinite(a, k);
  return Array.from({ length: k }, (_, f) => b.reduce((sum, bg, g) => sum + inverse[f * k + g] * bg, 0));
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  assert.equal(actual.length, expected.length);
  for (let n = 0; n < expected.length; n++) {
    assert.ok(
      Math.abs(actual[n] - expected[n]) <= tolerance * (1 + Math.abs(expected[n])),
      `[${n}] ${actual[n]} vs ${expected[n]}`,
    );
  }
}

describe('iALS WebAssembly kernel', () => {
  it('is the committed binary of ials-kernel.wat (rebuild with ials-kernel-assemble.ts)', async () => {
    assert.deepEqual(new Uint8Array(readFileSync(KERNEL_BINARY)), await assembleKernel());
  });

  for (const weighted of [false, true]) {
    it(`with k CG steps reaches the direct solve of each row${weighted ? ', strengths weighted' : ''}`, () => {
      const { step, gram } = setUp(weighted, 4 * k);
      step.inverse = undefined;
      solveRowsInKernel(step, 0, 3, 0);
      for (const row of [0, 2]) {
        assertClose(
          step.target.subarray(row * k, (row + 1) * k),
          directSolve(step.fixed, gram, row, weighted),
          1e-3,
        );
      }
      assert.deepEqual(
        Array.from(step.target.subarray(k, 2 * k)),
        new Array(k).fill(0),
        'no positives: x = 0',
      );
    });
  }

  it('solves a row with one positive exactly from G⁻¹, without CG steps', () => {
    for (const weighted of [false, true]) {
      const { step, gram } = setUp(weighted, 0);
      solveRowsInKernel(step, 2, 3, 0);
      assertClose(step.target.subarray(2 * k, 3 * k), directSolve(step.fixed, gram, 2, weighted), 1e-4);
    }
  });

  it('takes the same three CG steps as the JavaScript kernel', () => {
    const { step, gram } = setUp(true, 3);
    const x = Float64Array.from(step.target.subarray(0, k));
    const system = { fixed: step.fixed, gram, k, alpha, lambda };
    conjugateGradient(system, idx.slice(0, 4), x, 3, cgScratch(k), strength.slice(0, 4));
    solveRowsInKernel(step, 0, 1, 0);
    assertClose(step.target.subarray(0, k), x, 1e-4);
  });

  it('adds the Gramian of the rows it solves, and computes one over any row count', () => {
    const { step } = setUp(false, 3);
    solveRowsInKernel(step, 0, 3, 0);
    assertClose(step.totals, gramian(step.target, 3, k), 1e-5);
    // 40 rows: ten sweeps of four rows; 3 rows above: single-row updates only.
    assertClose(
      kernelGramian(step.memory, step.fixed, fixedRows, k, step),
      gramian(step.fixed, fixedRows, k),
      1e-5,
    );
    assert.deepEqual(Array.from(step.blocks), new Array(k * k).fill(0), 'the block is left zeroed');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { invertSymmetricPositiveDefinite } from '../../services/models/dense-linear-algebra';
import { mulberry32 } from '../../services/models/random';

function randomSpd(n: number, seed: number): Float64Array {
  const random = mulberry32(seed);
  const m = n + 3;
  const x = Float64Array.from({ length: m * n }, () => random() - 0.5);
  const a = new Float64Array(n * n);
  for (let r = 0; r < m; r++)
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] += x[r * n + i] * x[r * n + j];
  for (let i = 0; i < n; i++) a[i * n + i] += 0.1;
  return a;
}

describe('invertSymmetricPositiveDefinite', () => {
  // Sizes around the 4-row block boundary exercise the remainder paths.
  for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 33]) {
    it(`A·A⁻¹ = I for n = ${n}`, () => {
      const a = randomSpd(n, n);
      const inverse = invertSymmetricPositiveDefinite(a.slice(), n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += a[i * n + k] * inverse[k * n + j];
          assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-9, `(${i}, ${j}) = ${s}`);
        }
      }
    });
  }

  it('rejects a matrix that is not positive definite', () => {
    assert.throws(() => invertSymmetricPositiveDefinite(Float64Array.of(1, 2, 2, 1), 2), /positive definite/);
  });
});

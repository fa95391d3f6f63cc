/**
 * Dense symmetric positive-definite inverse via Cholesky, row-major n×n
 * Float64Array. The ~n³/2 multiply-adds (2.4e9 for the 1682 ML-100K items)
 * are memory-bound in plain JS, so every kernel walks contiguous rows and
 * handles four rows per sweep: each streamed row is then reused four times.
 * The input is overwritten; the inverse is returned as a new full matrix.
 */
export function invertSymmetricPositiveDefinite(a: Float64Array, n: number): Float64Array {
  if (a.length !== n * n) throw new Error(`expected ${n}×${n} matrix, got ${a.length} values`);
  choleskyInPlace(a, n);
  for (let i = 0; i < n; i++) a.fill(0, i * n + i + 1, (i + 1) * n);
  invertLowerTriangularInPlace(a, n);
  return lowerGramian(a, n);
}

const BLOCK = 4;

/**
 * Lower factor L (A = L·Lᵀ) written over the lower triangle (Cholesky–Banachiewicz);
 * the strict upper triangle is left untouched.
 */
export function choleskyInPlace(a: Float64Array, n: number): void {
  for (let i0 = 0; i0 < n; i0 += BLOCK) {
    const rows = Math.min(BLOCK, n - i0);
    if (rows === BLOCK) {
      const r0 = i0 * n;
      const r1 = r0 + n;
      const r2 = r1 + n;
      const r3 = r2 + n;
      for (let j = 0; j < i0; j++) {
        const rj = j * n;
        let s0 = a[r0 + j];
        let s1 = a[r1 + j];
        let s2 = a[r2 + j];
        let s3 = a[r3 + j];
        for (let k = 0; k < j; k++) {
          const l = a[rj + k];
          s0 -= a[r0 + k] * l;
          s1 -= a[r1 + k] * l;
          s2 -= a[r2 + k] * l;
          s3 -= a[r3 + k] * l;
        }
        const d = a[rj + j];
        a[r0 + j] = s0 / d;
        a[r1 + j] = s1 / d;
        a[r2 + j] = s2 / d;
        a[r3 + j] = s3 / d;
      }
    }
    for (let i = i0; i < i0 + rows; i++) {
      const ri = i * n;
      for (let j = rows === BLOCK ? i0 : 0; j <= i; j++) {
        const rj = j * n;
        let s = a[ri + j];
        for (let k = 0; k < j; k++) s -= a[ri + k] * a[rj + k];
        if (i === j) {
          if (!(s > 0)) throw new Error(`matrix is not positive definite (pivot ${i} = ${s})`);
          a[ri + i] = Math.sqrt(s);
        } else {
          a[ri + j] = s / a[rj + j];
        }
      }
    }
  }
}

/**
 * Replaces lower-triangular L (zero strict upper triangle) with W = L⁻¹, using
 * row i of W = (eᵢ − Σ_{k<i} L[i][k]·W[k]) / L[i][i] as axpys over earlier rows.
 */
function invertLowerTriangularInPlace(a: Float64Array, n: number): void {
  const acc = new Float64Array(BLOCK * n);
  for (let i0 = 0; i0 < n; i0 += BLOCK) {
    const rows = Math.min(BLOCK, n - i0);
    const width = i0 + rows;
    acc.fill(0);
    for (let b = 0; b < rows; b++) acc[b * n + i0 + b] = 1;
    for (let k = 0; k < i0; k++) {
      const rk = k * n;
      const c0 = a[i0 * n + k];
      const c1 = rows > 1 ? a[(i0 + 1) * n + k] : 0;
      const c2 = rows > 2 ? a[(i0 + 2) * n + k] : 0;
      const c3 = rows > 3 ? a[(i0 + 3) * n + k] : 0;
      for (let j = 0; j <= k; j++) {
        const w = a[rk + j];
        acc[j] -= c0 * w;
        acc[n + j] -= c1 * w;
        acc[2 * n + j] -= c2 * w;
        acc[3 * n + j] -= c3 * w;
      }
    }
    // Within the block each row also depends on the block rows above it, which are finished first.
    for (let b = 0; b < rows; b++) {
      const ri = (i0 + b) * n;
      const ab = b * n;
      for (let p = 0; p < b; p++) {
        const c = a[ri + i0 + p];
        const rp = (i0 + p) * n;
        for (let j = 0; j < width; j++) acc[ab + j] -= c * a[rp + j];
      }
      const inverseDiagonal = 1 / a[ri + i0 + b];
      for (let j = 0; j < width; j++) a[ri + j] = acc[ab + j] * inverseDiagonal;
    }
  }
}

/** Wᵀ·W for lower-triangular W (zero strict upper triangle), four rows of W per sweep, then mirrored. */
function lowerGramian(w: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let k0 = 0; k0 < n; k0 += BLOCK) {
    const rows = Math.min(BLOCK, n - k0);
    const last = k0 + rows - 1;
    const r0 = k0 * n;
    const r1 = rows > 1 ? r0 + n : r0;
    const r2 = rows > 2 ? r0 + 2 * n : r0;
    const r3 = rows > 3 ? r0 + 3 * n : r0;
    // Missing rows alias row k0 with a zero weight so the kernel stays branch-free.
    const m1 = rows > 1 ? 1 : 0;
    const m2 = rows > 2 ? 1 : 0;
    const m3 = rows > 3 ? 1 : 0;
    for (let i = 0; i <= last; i++) {
      const w0 = w[r0 + i];
      const w1 = m1 * w[r1 + i];
      const w2 = m2 * w[r2 + i];
      const w3 = m3 * w[r3 + i];
      const ri = i * n;
      for (let j = 0; j <= i; j++) {
        out[ri + j] += w0 * w[r0 + j] + w1 * w[r1 + j] + w2 * w[r2 + j] + w3 * w[r3 + j];
      }
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) out[j * n + i] = out[i * n + j];
  return out;
}

/**
 * Times the dense SPD inverse at EASE's ML-100K size (1682 items) and checks
 * max |A·A⁻¹ − I| on sampled rows of a random sparse Gram matrix.
 * Run: npx tsx bench/models/spd-inverse.ts [n]
 */
import { invertSymmetricPositiveDefinite } from '../../services/models/dense-linear-algebra';
import { mulberry32 } from '../../services/models/random';

const n = Number(process.argv[2] ?? 1682);
const random = mulberry32(7);
const users = 64;
const x = Float64Array.from({ length: users * n }, () => (random() < 0.1 ? 1 : 0));
// A = XᵀX + λI with a sparse 0/1 X, the shape of EASE's Gram matrix.
const a = new Float64Array(n * n);
for (let u = 0; u < users; u++) {
  for (let i = 0; i < n; i++) {
    if (x[u * n + i] === 0) continue;
    for (let j = 0; j < n; j++) a[i * n + j] += x[u * n + j];
  }
}
for (let i = 0; i < n; i++) a[i * n + i] += 50;
const original = a.slice();

const started = performance.now();
const inverse = invertSymmetricPositiveDefinite(a, n);
const elapsed = performance.now() - started;

let worst = 0;
for (let i = 0; i < n; i += Math.max(1, Math.floor(n / 64))) {
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += original[i * n + k] * inverse[k * n + j];
    worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
  }
}
console.log(
  `n=${n} inverse ${elapsed.toFixed(0)} ms, max |A·A⁻¹ − I| on sampled rows = ${worst.toExponential(2)}`,
);

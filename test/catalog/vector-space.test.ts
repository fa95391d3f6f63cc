import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  indexedDims,
  indexedSimilarity,
  releaseVectorSpace,
  searchVector,
  storedVector,
} from '../../services/catalog/vector-space';
import { mulberry32 } from '../../services/models/random';

const dims = 6;
const random = mulberry32(3);
const rows = 300;
// Norms from about 0 to 6: inner product favours long vectors, which a cosine index alone would not.
const vectors = Float32Array.from({ length: rows * dims }, (_, i) => (random() - 0.5) * (1 + (i % 11)));
const space = releaseVectorSpace({ dims, similarity: 'max_inner_product', vectors });
const row = (r: number) => vectors.subarray(r * dims, (r + 1) * dims);
const stored = (vector: ArrayLike<number>, within = space): number[] =>
  storedVector(within, vector) ?? assert.fail('a non-zero vector is stored');
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let sum = 0;
  for (let d = 0; d < a.length; d++) sum += a[d] * b[d];
  return sum;
};

test('inner-product vectors are indexed on the unit sphere, one dimension longer, as a dot-product index', () => {
  assert.equal(indexedDims(space), dims + 1);
  assert.equal(indexedSimilarity(space), 'dot_product');
  for (let r = 0; r < rows; r++) assert.ok(Math.abs(Math.hypot(...stored(row(r))) - 1) < 1e-9);
  assert.ok(Math.abs(Math.hypot(...searchVector(space, row(0))) - 1) < 1e-9);
});

test('the dot product of a stored and a searched vector orders items as their inner product does', () => {
  const onSphere = Array.from({ length: rows }, (_, r) => stored(row(r)));
  for (const q of [1, 17, 123]) {
    const query = searchVector(space, row(q));
    const byInner = Array.from({ length: rows }, (_, r) => r).sort(
      (a, b) => dot(row(b), row(q)) - dot(row(a), row(q)),
    );
    const bySphere = Array.from({ length: rows }, (_, r) => r).sort(
      (a, b) => dot(onSphere[b], query) - dot(onSphere[a], query),
    );
    assert.deepEqual(bySphere, byInner);
  }
});

test('a vector beyond the norm bound keeps its direction at unit length; a zero query is still a unit vector', () => {
  const bound = space.normBound ?? 0;
  const long = Array.from({ length: dims }, () => (2 * bound) / Math.sqrt(dims));
  const clamped = stored(long);
  assert.ok(Math.abs(Math.hypot(...clamped) - 1) < 1e-9);
  assert.equal(clamped[dims], 0);
  assert.ok(Math.abs(Math.hypot(...searchVector(space, new Array(dims).fill(0))) - 1) < 1e-9);
});

test('other similarities are indexed as they are', () => {
  const cosine = releaseVectorSpace({ dims, similarity: 'cosine', vectors });
  assert.equal(indexedDims(cosine), dims);
  assert.equal(indexedSimilarity(cosine), 'cosine');
  assert.deepEqual(stored(row(2), cosine), Array.from(row(2)));
  assert.deepEqual(searchVector(cosine, row(2)), Array.from(row(2)));
});

test('a zero vector is not indexed, in any space: it has no direction to search by', () => {
  assert.equal(storedVector(space, new Array(dims).fill(0)), undefined);
  assert.equal(
    storedVector(releaseVectorSpace({ dims, similarity: 'cosine', vectors }), new Array(dims).fill(0)),
    undefined,
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bandRatio,
  indexedDims,
  indexedSimilarity,
  maxBands,
  releaseVectorSpace,
  type StoredVector,
  searchVectors,
  storedVector,
  vectorFields,
} from '../../services/catalog/vector-space';
import { mulberry32 } from '../../services/models/random';

const dims = 6;
const random = mulberry32(3);
const rows = 300;
// Norms from about 0.001 to 6: inner product favours long vectors, which a cosine index alone
// would not, and they span more than one band.
const vectors = Float32Array.from(
  { length: rows * dims },
  (_, i) => (random() - 0.5) * (1 + (i % 11)) * 10 ** -(Math.floor(i / dims) % 4),
);
const space = releaseVectorSpace({ dims, similarity: 'max_inner_product', vectors });
const row = (r: number) => vectors.subarray(r * dims, (r + 1) * dims);
const stored = (vector: ArrayLike<number>, within = space): StoredVector =>
  storedVector(within, vector) ?? assert.fail('a non-zero vector is stored');
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let sum = 0;
  for (let d = 0; d < a.length; d++) sum += a[d] * b[d];
  return sum;
};

test('inner-product vectors are indexed on unit spheres, one dimension longer, as dot-product fields', () => {
  assert.equal(indexedDims(space), dims + 1);
  assert.equal(indexedSimilarity(space), 'dot_product');
  for (let r = 0; r < rows; r++) assert.ok(Math.abs(Math.hypot(...stored(row(r)).values) - 1) < 1e-9);
  for (const band of searchVectors(space, row(0))) assert.ok(Math.abs(Math.hypot(...band.vector) - 1) < 1e-9);
});

test('norms are cut into at most maxBands bands, each spanning at most bandRatio, the smallest sharing the last', () => {
  const bounds = space.normBounds ?? assert.fail('an inner-product space has bounds');
  assert.ok(bounds.length > 1 && bounds.length <= maxBands, `bounds ${bounds}`);
  assert.equal(vectorFields(space).length, bounds.length);
  assert.equal(vectorFields(space)[0], 'vector', 'the first band is the field of an unbanded index');
  for (let r = 0; r < rows; r++) {
    const norm = Math.hypot(...row(r));
    const band = vectorFields(space).indexOf(stored(row(r)).field);
    assert.ok(norm <= bounds[band], `row ${r} under its band's bound`);
    if (band < bounds.length - 1) assert.ok(norm > bounds[band] / bandRatio, `row ${r} within its band`);
  }
});

test("a hit's score in its band gives back its inner product with the query, so bands merge exactly", () => {
  const fields = vectorFields(space);
  for (const q of [1, 17, 123]) {
    const bands = searchVectors(space, row(q));
    for (let r = 0; r < rows; r++) {
      const { field, values } = stored(row(r));
      const band = bands[fields.indexOf(field)];
      // Elasticsearch's dot_product score.
      const score = (1 + dot(values, band.vector)) / 2;
      const inner = band.innerProductOf?.(score) ?? assert.fail('a banded query converts scores');
      assert.ok(Math.abs(inner - dot(row(r), row(q))) < 1e-9, `row ${r}, query ${q}`);
    }
  }
});

test('a vector beyond the norm bound keeps its direction at unit length in the top band; a zero query is still a unit vector', () => {
  const bound = space.normBounds?.[0] ?? 0;
  const long = Array.from({ length: dims }, () => (2 * bound) / Math.sqrt(dims));
  const clamped = stored(long);
  assert.equal(clamped.field, 'vector');
  assert.ok(Math.abs(Math.hypot(...clamped.values) - 1) < 1e-9);
  assert.equal(clamped.values[dims], 0);
  for (const band of searchVectors(space, new Array(dims).fill(0)))
    assert.ok(Math.abs(Math.hypot(...band.vector) - 1) < 1e-9);
});

test('norms within one band make one field, as before bands', () => {
  const even = Float32Array.from({ length: rows * dims }, () => 1 + random());
  const single = releaseVectorSpace({ dims, similarity: 'max_inner_product', vectors: even });
  assert.equal(single.normBounds?.length, 1);
  assert.deepEqual(vectorFields(single), ['vector']);
});

test('other similarities are indexed as they are', () => {
  const cosine = releaseVectorSpace({ dims, similarity: 'cosine', vectors });
  assert.equal(indexedDims(cosine), dims);
  assert.equal(indexedSimilarity(cosine), 'cosine');
  assert.deepEqual(stored(row(2), cosine), { field: 'vector', values: Array.from(row(2)) });
  const [band, ...others] = searchVectors(cosine, row(2));
  assert.deepEqual(band.vector, Array.from(row(2)));
  assert.equal(band.innerProductOf, undefined);
  assert.equal(others.length, 0);
});

test('a zero vector is not indexed, in any space: it has no direction to search by', () => {
  assert.equal(storedVector(space, new Array(dims).fill(0)), undefined);
  assert.equal(
    storedVector(releaseVectorSpace({ dims, similarity: 'cosine', vectors }), new Array(dims).fill(0)),
    undefined,
  );
});

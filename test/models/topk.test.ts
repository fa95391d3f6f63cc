import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { topK } from '../../services/evaluation/topk';
import { mulberry32 } from '../../services/models/random';

/** Reference: full sort by score descending, index ascending. */
function sortedTopK(scores: Float32Array, k: number, exclude: number[] = []): number[] {
  const skip = new Set(exclude);
  return Array.from(scores.keys())
    .filter((i) => !skip.has(i) && !Number.isNaN(scores[i]))
    .sort((a, b) => scores[b] - scores[a] || a - b)
    .slice(0, k);
}

describe('topK', () => {
  it('matches a full sort on random scores with exclusions', () => {
    const random = mulberry32(3);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(random() * 300);
      // Coarse values force plenty of ties.
      const scores = Float32Array.from({ length: n }, () => Math.floor(random() * 20));
      const exclude = Array.from(scores.keys()).filter(() => random() < 0.3);
      const k = Math.floor(random() * 15);
      assert.deepEqual(Array.from(topK(scores, k, exclude)), sortedTopK(scores, k, exclude));
    }
  });

  it('breaks ties toward the lower index', () => {
    assert.deepEqual(Array.from(topK(Float32Array.of(1, 3, 3, 1, 3), 2)), [1, 2]);
  });

  it('returns fewer than K when the catalogue is smaller, and nothing for K = 0', () => {
    assert.deepEqual(Array.from(topK(Float32Array.of(0.1, 0.9, 0.5), 10, [1])), [2, 0]);
    assert.equal(topK(Float32Array.of(1, 2), 0).length, 0);
  });

  it('never returns NaN scores', () => {
    assert.deepEqual(Array.from(topK(Float32Array.of(Number.NaN, 2, Number.NaN, 1), 3)), [1, 3]);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { embedContent, fitContentMap, type ItemContent } from '../../services/lifecycle/content-embedding';
import { mulberry32 } from '../../services/models/random';

const genres = ['action', 'comedy', 'drama', 'horror', 'sci-fi'];
const dims = 6;

/** Items whose factors are a genre direction plus noise: what the map should learn from content. */
function catalog(count: number, seed: number) {
  const random = mulberry32(seed);
  const direction = genres.map(() => Array.from({ length: dims }, () => random() * 2 - 1));
  const ids: string[] = [];
  const content = new Map<string, ItemContent>();
  const vectors = new Float32Array(count * dims);
  for (let n = 0; n < count; n++) {
    const g = n % genres.length;
    const id = `i${n}`;
    ids.push(id);
    content.set(id, {
      title: `${genres[g]} story ${n}`,
      categories: [genres[g]],
      year: 1990 + (n % 9),
      text: '',
    });
    for (let f = 0; f < dims; f++) vectors[n * dims + f] = direction[g][f] + (random() - 0.5) * 0.2;
  }
  return { ids, content, vectors, direction };
}

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let f = 0; f < a.length; f++) {
    dot += a[f] * b[f];
    na += a[f] * a[f];
    nb += b[f] * b[f];
  }
  return dot / Math.sqrt(na * nb);
};

describe('content→embedding map', () => {
  const { ids, content, vectors, direction } = catalog(400, 3);

  it('maps the content of an unseen item next to the items it resembles', () => {
    const map = fitContentMap({ ids, dims, vectors }, content);
    assert.equal(map.fittedItems, 400);
    genres.forEach((genre, g) => {
      const cold = embedContent(map, {
        title: `new ${genre} film`,
        categories: [genre],
        year: 1995,
        text: '',
      });
      assert.equal(cold.length, dims);
      assert.ok(cosine(cold, direction[g]) > 0.9, `${genre}: cosine ${cosine(cold, direction[g])}`);
      const others = direction.filter((_, h) => h !== g).map((d) => cosine(cold, d));
      assert.ok(
        others.every((c) => c < cosine(cold, direction[g])),
        `${genre} lands nearest its own genre`,
      );
    });
  });

  it('fits only on items with content and a collaborative signal, and is deterministic', () => {
    const partial = new Map([...content].slice(0, 100));
    const zeroed = Float32Array.from(vectors);
    zeroed.fill(0, 0, 10 * dims);
    const map = fitContentMap({ ids, dims, vectors: zeroed }, partial);
    assert.equal(map.fittedItems, 90);
    const again = fitContentMap({ ids, dims, vectors: zeroed }, partial);
    assert.deepEqual(again.weights, map.weights);
    assert.throws(() => fitContentMap({ ids, dims, vectors }, new Map()), /no item has both content/);
  });

  it('gives an item with unknown categories and no words a vector near the mean item', () => {
    const map = fitContentMap({ ids, dims, vectors }, content);
    const unknown = embedContent(map, { title: '?', categories: ['opera'], year: null, text: '' });
    const mean = direction[0].map((_, f) => direction.reduce((s, d) => s + d[f], 0) / direction.length);
    assert.ok(cosine(unknown, mean) > 0.9, `cosine to the mean item ${cosine(unknown, mean)}`);
  });
});

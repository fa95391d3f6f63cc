import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32 } from '../../services/models/random';
import { Adam } from '../../services/models/two-tower/adam';
import { RowSet } from '../../services/models/two-tower/row-set';

const width = 4;

function table(rows: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: rows * width }, () => random() - 0.5);
}

/** Three steps on `rows`-row tables whose gradients touch rows 1 and 3 (2 on the second step). */
function steps(rows: number, sparse: boolean): Float32Array {
  const values = table(rows, 1);
  const adam = new Adam([values], { learningRate: 0.1 });
  const touched = new RowSet(rows, width);
  const random = mulberry32(2);
  for (const written of [[1, 3], [2], [1, 3]]) {
    // The gradient array holds stale values outside the rows written this step.
    const gradient = Float32Array.from({ length: rows * width }, () => random() - 0.5);
    if (!sparse) {
      const dense = new Float32Array(rows * width);
      for (const row of written) dense.set(gradient.subarray(row * width, (row + 1) * width), row * width);
      adam.step([dense]);
      continue;
    }
    touched.clear();
    for (const row of written) touched.add(row);
    adam.step([gradient], [touched]);
  }
  return values;
}

describe('Adam over embedding tables', () => {
  it('updates a small table as dense Adam does, reading the gradient only on touched rows', () => {
    assert.deepEqual(steps(8, true), steps(8, false));
  });

  it('updates a large table lazily: untouched rows and their moments stay put', () => {
    const rows = 60_000;
    const before = table(rows, 1);
    const after = steps(rows, true);
    const dense = steps(rows, false);
    for (const row of [0, 4, rows - 1])
      assert.deepEqual(
        after.subarray(row * width, (row + 1) * width),
        before.subarray(row * width, (row + 1) * width),
      );
    assert.notDeepEqual(after.subarray(2 * width, 3 * width), before.subarray(2 * width, 3 * width));
    // Row 2 was touched once: densely it keeps moving on its momentum afterwards, lazily it does not.
    assert.notDeepEqual(after.subarray(2 * width, 3 * width), dense.subarray(2 * width, 3 * width));
  });

  it('a row set keeps each row once, in the order added, until cleared', () => {
    const set = new RowSet(10, width);
    assert.equal(set.add(7), true);
    assert.equal(set.add(2), true);
    assert.equal(set.add(7), false);
    assert.deepEqual([...set.rows()], [7, 2]);
    assert.ok(set.has(2) && !set.has(3));
    set.clear();
    assert.equal(set.size, 0);
    assert.ok(!set.has(7));
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  auc,
  averagePrecisionAtK,
  catalogCoverageAtK,
  logLoss,
  ndcgAtK,
  precisionAtK,
  recallAtK,
  summariseTopK,
} from '../../services/evaluation/metrics';

const close = (actual: number, expected: number, tolerance = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `expected ${expected}, got ${actual}`);

describe('top-K metrics on a hand-computed list', () => {
  // Hits at ranks 2 and 4; item 9 is relevant but never ranked.
  const ranked = [1, 2, 3, 4, 5];
  const relevant = new Set([2, 4, 9]);

  it('recall and precision count hits in the first K', () => {
    close(recallAtK(ranked, relevant, 5), 2 / 3);
    close(precisionAtK(ranked, relevant, 5), 2 / 5);
    close(recallAtK(ranked, relevant, 2), 1 / 3);
    close(precisionAtK(ranked, relevant, 2), 1 / 2);
  });

  it('NDCG discounts by log2(rank + 1) and normalises by the ideal over min(|test|, K)', () => {
    const dcg = 1 / Math.log2(3) + 1 / Math.log2(5);
    close(ndcgAtK(ranked, relevant, 5), dcg / (1 + 1 / Math.log2(3) + 1 / Math.log2(4)));
    close(ndcgAtK(ranked, relevant, 2), 1 / Math.log2(3) / (1 + 1 / Math.log2(3)));
  });

  it('MAP averages precision at each hit over min(|test|, K)', () => {
    close(averagePrecisionAtK(ranked, relevant, 5), (1 / 2 + 2 / 4) / 3);
    close(averagePrecisionAtK(ranked, relevant, 2), 1 / 2 / 2);
  });

  it('a perfect list scores 1 on NDCG and MAP even when |test| > K', () => {
    const many = new Set(Array.from({ length: 20 }, (_, i) => i));
    const top = Array.from({ length: 10 }, (_, i) => i);
    close(ndcgAtK(top, many, 10), 1);
    close(averagePrecisionAtK(top, many, 10), 1);
    close(recallAtK(top, many, 10), 0.5);
  });

  it('short lists count empty slots as misses and empty relevance scores 0', () => {
    close(precisionAtK([2], relevant, 5), 1 / 5);
    close(ndcgAtK([2], new Set(), 5), 0);
    close(averagePrecisionAtK([2], new Set(), 5), 0);
  });
});

describe('catalogue coverage', () => {
  it('is the share of the catalogue present in any top-K', () => {
    close(
      catalogCoverageAtK(
        [
          [1, 2],
          [2, 3],
        ],
        10,
        2,
      ),
      0.3,
    );
    close(
      catalogCoverageAtK(
        [
          [1, 2],
          [2, 3],
        ],
        10,
        1,
      ),
      0.2,
    );
  });
});

describe('AUC', () => {
  it('matches the textbook example', () => {
    close(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  });
  it('gives ties half credit', () => {
    close(auc([0.5, 0.5, 0.5], [1, 0, 0]), 0.5);
    close(auc([0.2, 0.5, 0.5], [0, 1, 0]), 0.75);
  });
  it('refuses single-class labels', () => {
    assert.throws(() => auc([0.1, 0.2], [1, 1]));
  });
});

describe('log loss', () => {
  it('is the mean binary cross-entropy', () => {
    close(logLoss([0.9, 0.2], [1, 0]), -(Math.log(0.9) + Math.log(0.8)) / 2);
  });
  it('clips certain mistakes to a finite loss', () => {
    close(logLoss([0], [1]), -Math.log(1e-15), 1e-6);
  });
});

describe('summariseTopK', () => {
  it('averages over users with held-out items and skips the rest', () => {
    const report = summariseTopK(
      [
        { ranked: [1, 2], relevant: new Set([1]) },
        { ranked: [3, 4], relevant: new Set([9]) },
        { ranked: [5, 6], relevant: new Set() },
      ],
      2,
      10,
    );
    assert.equal(report.users, 2);
    close(report.recall, 0.5);
    close(report.precision, 0.25);
    close(report.ndcg, 0.5);
    close(report.map, 0.5);
    close(report.coverage, 0.4);
  });
});

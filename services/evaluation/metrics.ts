/**
 * Full-ranking top-N metrics with binary relevance. `ranked` is the model's
 * list (best first, seen items already removed); `relevant` is the held-out set.
 */

export function hitsAtK(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  let hits = 0;
  const n = Math.min(k, ranked.length);
  for (let r = 0; r < n; r++) if (relevant.has(ranked[r])) hits++;
  return hits;
}

export function recallAtK(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  return relevant.size === 0 ? 0 : hitsAtK(ranked, relevant, k) / relevant.size;
}

/** Divides by K even when fewer than K items were returned: empty slots count as misses. */
export function precisionAtK(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  return hitsAtK(ranked, relevant, k) / k;
}

export function ndcgAtK(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  const idealHits = Math.min(relevant.size, k);
  if (idealHits === 0) return 0;
  let dcg = 0;
  const n = Math.min(k, ranked.length);
  for (let r = 0; r < n; r++) if (relevant.has(ranked[r])) dcg += 1 / Math.log2(r + 2);
  let idcg = 0;
  for (let r = 0; r < idealHits; r++) idcg += 1 / Math.log2(r + 2);
  return dcg / idcg;
}

/** AP@K normalised by min(|relevant|, K) so a perfect top-K scores 1 even when |relevant| > K. */
export function averagePrecisionAtK(
  ranked: ArrayLike<number>,
  relevant: ReadonlySet<number>,
  k: number,
): number {
  const denominator = Math.min(relevant.size, k);
  if (denominator === 0) return 0;
  let hits = 0;
  let sum = 0;
  const n = Math.min(k, ranked.length);
  for (let r = 0; r < n; r++) {
    if (relevant.has(ranked[r])) {
      hits++;
      sum += hits / (r + 1);
    }
  }
  return sum / denominator;
}

/** Share of the catalogue that appears in at least one user's top-K. */
export function catalogCoverageAtK(
  lists: Iterable<ArrayLike<number>>,
  catalogSize: number,
  k: number,
): number {
  if (catalogSize === 0) return 0;
  const seen = new Set<number>();
  for (const list of lists) {
    const n = Math.min(k, list.length);
    for (let r = 0; r < n; r++) seen.add(list[r]);
  }
  return seen.size / catalogSize;
}

/** Labels of one class only: nothing to discriminate, so a ranker can neither be fitted nor judged. */
export class SingleClassLabelsError extends Error {
  override name = 'SingleClassLabelsError';
}

export function requireBothClasses(labels: ArrayLike<number>, what: string): void {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] > 0) positives++;
  if (positives === 0 || positives === labels.length)
    throw new SingleClassLabelsError(
      `${what} have labels of one class only (${positives} of ${labels.length} positive)`,
    );
}

/**
 * ROC AUC via the Mann–Whitney rank statistic; tied scores get their average
 * rank so a constant scorer gets exactly 0.5.
 */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  if (labels.length !== n) throw new Error('scores and labels differ in length');
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let positives = 0;
  let positiveRankSum = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && scores[order[end]] === scores[order[start]]) end++;
    const averageRank = (start + 1 + end) / 2;
    for (let r = start; r < end; r++) {
      if (labels[order[r]] > 0) {
        positives++;
        positiveRankSum += averageRank;
      }
    }
    start = end;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0)
    throw new SingleClassLabelsError('AUC needs both positive and negative labels');
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Mean binary cross-entropy; probabilities are clipped so one confident miss is large but finite. */
export function logLoss(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  epsilon = 1e-15,
): number {
  const n = probabilities.length;
  if (labels.length !== n) throw new Error('probabilities and labels differ in length');
  if (n === 0) throw new Error('log loss of an empty set');
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.min(1 - epsilon, Math.max(epsilon, probabilities[i]));
    sum -= labels[i] > 0 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / n;
}

export interface TopKReport {
  ndcg: number;
  recall: number;
  precision: number;
  map: number;
  coverage: number;
  users: number;
}

export interface RankedUser {
  ranked: ArrayLike<number>;
  relevant: ReadonlySet<number>;
}

/** User-averaged metrics; users without held-out items are skipped rather than scored as zero. */
export function summariseTopK(users: Iterable<RankedUser>, k: number, catalogSize: number): TopKReport {
  let ndcg = 0;
  let recall = 0;
  let precision = 0;
  let map = 0;
  let count = 0;
  const lists: ArrayLike<number>[] = [];
  for (const { ranked, relevant } of users) {
    if (relevant.size === 0) continue;
    ndcg += ndcgAtK(ranked, relevant, k);
    recall += recallAtK(ranked, relevant, k);
    precision += precisionAtK(ranked, relevant, k);
    map += averagePrecisionAtK(ranked, relevant, k);
    lists.push(ranked);
    count++;
  }
  const mean = (total: number) => (count === 0 ? 0 : total / count);
  return {
    ndcg: mean(ndcg),
    recall: mean(recall),
    precision: mean(precision),
    map: mean(map),
    coverage: catalogCoverageAtK(lists, catalogSize, k),
    users: count,
  };
}

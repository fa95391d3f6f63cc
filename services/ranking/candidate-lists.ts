/**
 * Per-user candidate lists from a generator, with their ranking feature rows and, where the
 * held-out interactions are known, labels: the rows the ranker trains on, and is judged on.
 */
import type { Relevance } from '../evaluation/ranking';
import { topK } from '../evaluation/topk';
import { itemsOfUser } from '../models/interaction-matrix';
import type { CandidateModel, Interaction } from '../models/types';
import { type RankingFeatures, SignalScores, type Surface } from './features';
import { LIKED_RATING } from './ranker';
import type { FeatureRows } from './xgboost';

export interface CandidateLists {
  /** User of each list. */
  users: Int32Array;
  /** Rows of list l are [offsets[l], offsets[l+1]); a list is shorter than asked when few items are unseen. */
  offsets: Int32Array;
  /** Candidate item of each row, in generator order within a list. */
  items: Int32Array;
  features: Float32Array;
  width: number;
  /** 1 when the row's item is among the user's held-out items. */
  interacted: Float32Array;
  /** The held-out rating of interacted rows; NaN for the others and for unrated interactions. */
  ratings: Float32Array;
}

export interface CandidateGeneration {
  generator: CandidateModel;
  /** Scored for features in the order of the features' signal names after the generator's. */
  signals: readonly CandidateModel[];
  features: RankingFeatures;
  /** Candidates per user. */
  depth: number;
  surface: Surface;
}

/**
 * Top-`depth` unseen items of the generator for each user with held-out items, labelled with
 * those held-out interactions. The labels never feed the features.
 */
export function buildCandidateLists(
  generation: CandidateGeneration,
  relevant: Relevance,
  heldOut: readonly Interaction[],
): CandidateLists {
  const { generator, signals, features, depth, surface } = generation;
  const train = features.train;
  const users = Int32Array.from(relevant.keys()).sort();
  const width = features.names.length;
  const offsets = new Int32Array(users.length + 1);
  const items = new Int32Array(users.length * depth);
  const values = new Float32Array(users.length * depth * width);
  const scores = new Float32Array(train.nItems);
  let rows = 0;
  for (const [l, u] of users.entries()) {
    generator.scoreUser(u, scores);
    const candidates = topK(scores, depth, itemsOfUser(train, u));
    const own = SignalScores.over(scores.slice());
    // A generator that is its one signal (the release's iALS) is not scored twice.
    const scored = [own, ...signals.map((m) => (m === generator ? own : SignalScores.of(m, u, train)))];
    features.fill(u, candidates, scored, features.replayContext(u, surface), values, rows * width);
    items.set(candidates, rows);
    rows += candidates.length;
    offsets[l + 1] = rows;
  }
  const rated = new Map<number, number>();
  for (const x of heldOut) {
    if (x.rating === undefined) continue;
    rated.set(train.users.require(x.user) * train.nItems + train.items.require(x.item), x.rating);
  }
  const interacted = new Float32Array(rows);
  const ratings = new Float32Array(rows).fill(Number.NaN);
  for (const [l, u] of users.entries()) {
    const held = relevant.get(u)!;
    for (let r = offsets[l]; r < offsets[l + 1]; r++) {
      if (!held.has(items[r])) continue;
      interacted[r] = 1;
      ratings[r] = rated.get(u * train.nItems + items[r]) ?? Number.NaN;
    }
  }
  return {
    users,
    offsets,
    items: items.slice(0, rows),
    features: values.slice(0, rows * width),
    width,
    interacted,
    ratings,
  };
}

/** The rows of the given lists, whole lists at a time so a user never straddles two subsets. */
export function selectLists(all: CandidateLists, lists: readonly number[]): CandidateLists {
  const offsets = new Int32Array(lists.length + 1);
  for (const [n, l] of lists.entries()) offsets[n + 1] = offsets[n] + all.offsets[l + 1] - all.offsets[l];
  const rows = offsets[lists.length];
  const picked: CandidateLists = {
    users: Int32Array.from(lists, (l) => all.users[l]),
    offsets,
    items: new Int32Array(rows),
    features: new Float32Array(rows * all.width),
    width: all.width,
    interacted: new Float32Array(rows),
    ratings: new Float32Array(rows),
  };
  for (const [n, l] of lists.entries()) {
    const from = all.offsets[l];
    const to = all.offsets[l + 1];
    picked.items.set(all.items.subarray(from, to), offsets[n]);
    picked.features.set(all.features.subarray(from * all.width, to * all.width), offsets[n] * all.width);
    picked.interacted.set(all.interacted.subarray(from, to), offsets[n]);
    picked.ratings.set(all.ratings.subarray(from, to), offsets[n]);
  }
  return picked;
}

/** Every row, labelled by whether the user interacted: the interaction head's examples. */
export function interactionRows(lists: CandidateLists): FeatureRows {
  return { values: lists.features, rows: lists.items.length, columns: lists.width, labels: lists.interacted };
}

/** Interacted rows with a rating, labelled by whether it was liked: the rating head's examples. */
export function ratingRows(lists: CandidateLists): FeatureRows {
  const picked: number[] = [];
  for (let r = 0; r < lists.items.length; r++) if (!Number.isNaN(lists.ratings[r])) picked.push(r);
  const values = new Float32Array(picked.length * lists.width);
  const labels = new Float32Array(picked.length);
  for (const [n, r] of picked.entries()) {
    values.set(lists.features.subarray(r * lists.width, (r + 1) * lists.width), n * lists.width);
    labels[n] = lists.ratings[r] >= LIKED_RATING ? 1 : 0;
  }
  return { values, rows: picked.length, columns: lists.width, labels };
}

/**
 * The best `k` of each list by `scores` (aligned with the rows), as item indices. Ties keep
 * generator order, so a constant scorer returns the generator's own top-k.
 */
export function rerank(lists: CandidateLists, scores: ArrayLike<number>, k: number): Int32Array[] {
  const ranked: Int32Array[] = [];
  for (let l = 0; l < lists.users.length; l++) {
    const from = lists.offsets[l];
    const rows = Array.from({ length: lists.offsets[l + 1] - from }, (_, n) => from + n);
    rows.sort((a, b) => scores[b] - scores[a] || a - b);
    ranked.push(Int32Array.from(rows.slice(0, k), (r) => lists.items[r]));
  }
  return ranked;
}

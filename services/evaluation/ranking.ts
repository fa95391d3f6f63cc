import { type IdIndex, type InteractionMatrix, itemsOfUser } from '../models/interaction-matrix';
import type { CandidateModel, Interaction } from '../models/types';
import { summariseTopK, type TopKReport } from './metrics';
import { topK } from './topk';

/** Held-out items per user index, in the train matrix's id space. */
export type Relevance = ReadonlyMap<number, ReadonlySet<number>>;

export function relevanceOf(heldOut: readonly Interaction[], users: IdIndex, items: IdIndex): Relevance {
  const relevant = new Map<number, Set<number>>();
  for (const x of heldOut) {
    const u = users.require(x.user);
    let set = relevant.get(u);
    if (!set) {
      set = new Set();
      relevant.set(u, set);
    }
    set.add(items.require(x.item));
  }
  return relevant;
}

/** Top-K over the whole catalogue minus the user's training items. */
export function recommend(
  model: CandidateModel,
  train: InteractionMatrix,
  users: Iterable<number>,
  k: number,
): Map<number, Int32Array> {
  const scores = new Float32Array(train.nItems);
  const lists = new Map<number, Int32Array>();
  for (const u of users) {
    model.scoreUser(u, scores);
    lists.set(u, topK(scores, k, itemsOfUser(train, u)));
  }
  return lists;
}

export interface RankingEvaluation {
  report: TopKReport;
  recommendations: Map<number, Int32Array>;
}

export function evaluateRanking(
  model: CandidateModel,
  train: InteractionMatrix,
  relevant: Relevance,
  k: number,
): RankingEvaluation {
  const recommendations = recommend(model, train, relevant.keys(), k);
  const users = [...relevant].map(([u, set]) => ({ ranked: recommendations.get(u)!, relevant: set }));
  return { report: summariseTopK(users, k, train.nItems), recommendations };
}

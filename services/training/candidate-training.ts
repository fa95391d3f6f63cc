/**
 * Training of the retrieval model the daily retrain publishes: iALS, whose item factors are the
 * vectors of the ANN index and whose user factors (or a fold-in) are the queries. Also the
 * holdout measurement that the champion/challenger gate compares.
 */

import type { ItemVectors } from '../catalog/item-vectors';
import { evaluateRanking, relevanceOf } from '../evaluation/ranking';
import { splitInteractions } from '../evaluation/splits';
import { Ials } from '../models/ials';
import {
  buildInteractionMatrix,
  IdIndex,
  indexInteractions,
  itemsOfUser,
} from '../models/interaction-matrix';
import type { Interaction } from '../models/types';
import type { TrainingConfig } from './config';

export interface HoldoutScore {
  ndcgAt10: number;
  recallAt10: number;
  users: number;
}

export interface TrainedRetrieval {
  items: ItemVectors;
  /** `seen[u]`: indexes into `items.ids` of what user u interacted with, for serving's seen filter. */
  users: { ids: string[]; vectors: Float32Array; seen: number[][] };
  fitSeconds: number;
}

/** NDCG@10 of a config fitted on a per-user 75% and scored on the held-out 25% (full ranking). */
export async function holdoutScore(
  interactions: readonly Interaction[],
  ials: TrainingConfig['ials'],
  holdoutSeed: number,
  threads: number,
): Promise<HoldoutScore> {
  const { users, items } = indexInteractions(interactions);
  const split = splitInteractions('stratified', interactions, holdoutSeed);
  const train = buildInteractionMatrix(split.train, users, items);
  const model = new Ials({ ...ials, threads });
  await model.fit(train);
  const { report } = evaluateRanking(model, train, relevanceOf(split.test, users, items), 10);
  return { ndcgAt10: report.ndcg, recallAt10: report.recall, users: report.users };
}

/** Items nobody interacted with yet get a zero vector: in the index, but never retrieved by it. */
export async function trainRetrieval(
  interactions: readonly Interaction[],
  catalog: readonly string[],
  ials: TrainingConfig['ials'],
  threads: number,
): Promise<TrainedRetrieval> {
  const started = performance.now();
  const { users } = indexInteractions(interactions);
  const items = IdIndex.of([...catalog, ...interactions.map((x) => x.item)]);
  const model = new Ials({ ...ials, threads });
  const matrix = buildInteractionMatrix(interactions, users, items);
  await model.fit(matrix);
  return {
    // Inner product is what iALS scores with; the index must rank by the same measure.
    items: {
      ids: [...items.ids],
      dims: ials.factors,
      similarity: 'max_inner_product',
      vectors: Float32Array.from(model.itemVectors),
    },
    users: {
      ids: [...users.ids],
      vectors: Float32Array.from(model.userVectors),
      seen: users.ids.map((_, u) => Array.from(itemsOfUser(matrix, u))),
    },
    fitSeconds: (performance.now() - started) / 1000,
  };
}

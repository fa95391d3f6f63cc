/**
 * Does the session pull the answer toward itself? On ML-100K, per user: train on the earliest
 * 80% (temporal protocol), take the next 3 held-out items as the session and the 5 after them
 * as what the user did next, and score NDCG@10 of the serving pipeline (in process, exact
 * search, exploration off) with and without `recentItems`, and with the session only steering
 * the ANN query (how serving worked before the session-neighbour generator).
 */
import { join } from 'node:path';
import type { RecommendRequest } from '../schemas/recommend';
import { loadMovieLens } from '../services/data/movielens';
import { ndcgAtK } from '../services/evaluation/metrics';
import { splitInteractions } from '../services/evaluation/splits';
import type { Interaction } from '../services/models/types';
import type { HotState } from '../services/serving/hot-state';
import { runPipeline } from '../services/serving/pipeline';
import type { ServingConfigInput } from '../services/serving/serving-config';
import { movieLensServingState, offlinePipelineDeps } from './data/movielens-serving-state';

export interface SessionSignalResult {
  sessions: number;
  ndcgWithout: number;
  ndcgWith: number;
  ndcgAnnOnly: number;
  example: { request: string; titles: string[] }[];
}

const sessionLength = 3;
const nextItems = 5;

export async function benchSessionSignal(cacheDir: string): Promise<SessionSignalResult> {
  const data = await loadMovieLens(join(cacheDir, 'data', 'ml-100k'));
  const interactions: Interaction[] = data.ratings.map((r) => ({
    user: r.user,
    item: r.item,
    timestamp: r.timestamp,
  }));
  const split = splitInteractions('temporal', interactions, 42);
  const state = await movieLensServingState(data, split.train, 'session-bench');
  const serve = pipelineOver(state);
  const annOnly = pipelineOver(state, {
    pipeline: {
      weights: { ann: 1, session: 0, popularity: 0, fresh: 0, similar: 0 },
      mmrLambda: 1,
      categoryCap: 100,
      freshSlot: 0,
      explorationRate: 0,
    },
  });

  const heldOut = new Map<string, Interaction[]>();
  for (const x of split.test) heldOut.set(x.user, [...(heldOut.get(x.user) ?? []), x]);
  const sums = { without: 0, with: 0, annOnly: 0 };
  let sessions = 0;
  for (const [user, rows] of heldOut) {
    if (rows.length < sessionLength + nextItems) continue;
    rows.sort((a, b) => a.timestamp - b.timestamp || (a.item < b.item ? -1 : 1));
    const session = rows
      .slice(0, sessionLength)
      .map((x) => x.item)
      .reverse();
    const relevant = new Set(
      rows.slice(sessionLength, sessionLength + nextItems).map((x) => state.items.index.get(x.item) ?? -1),
    );
    const score = async (run: typeof serve, request: Partial<RecommendRequest>) =>
      ndcgAtK(await run({ userId: user, ...request }), relevant, 10);
    sums.without += await score(serve, { exclude: session });
    sums.with += await score(serve, { recentItems: session });
    sums.annOnly += await score(annOnly, { recentItems: session });
    sessions++;
  }
  const titles = new Map(data.items.map((i) => [i.item, i.title]));
  const example = [];
  for (const request of [
    { userId: '1', recentItems: ['50', '181'] },
    { userId: '1' },
    { userId: 'someone-new', recentItems: ['50', '181'] },
  ]) {
    const ids = await serve(request);
    example.push({
      request: JSON.stringify(request),
      titles: ids.slice(0, 5).map((i) => titles.get(state.items.ids[i]) ?? state.items.ids[i]),
    });
  }
  return {
    sessions,
    ndcgWithout: sums.without / sessions,
    ndcgWith: sums.with / sessions,
    ndcgAnnOnly: sums.annOnly / sessions,
    example,
  };
}

/** The pipeline as a function from a request to the slate's item indexes in the release. */
function pipelineOver(state: HotState, overrides: ServingConfigInput = {}) {
  const deps = offlinePipelineDeps(overrides);
  return async (request: Partial<RecommendRequest> & { userId: string }): Promise<number[]> => {
    const result = await runPipeline(
      { surface: 'homepage', k: 10, recentItems: [], exclude: [], interests: [], ...request },
      state,
      deps,
    );
    if (!result.ok) throw new Error(result.error.message);
    return result.slate.items.map((i) => state.items.index.get(i.itemId) ?? -1);
  };
}

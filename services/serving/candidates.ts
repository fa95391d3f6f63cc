/**
 * The vocabulary of the pipeline: a request's context over the hot state, the ranked lists the
 * generators propose, and the candidates that flow through filtering, ranking and
 * post-processing.
 */
import type { RecommendRequest } from '../../schemas/recommend';
import type { HotState } from './hot-state';
import type { PipelineParams } from './serving-config';

export const generatorNames = [
  'ann',
  'session',
  'popularity',
  'fresh',
  'similar',
  'interests',
  'two-tower',
] as const;
export type GeneratorName = (typeof generatorNames)[number];

export interface RequestContext {
  request: RecommendRequest;
  state: HotState;
  params: PipelineParams;
  /** The user's row in the release, when the release knows the user. */
  user?: number;
  /** The session's items the release knows, newest first: the request's, then the logged session's. */
  recent: number[];
  /** The session's items the release does not contain (created after it): seen all the same. */
  recentUnreleased?: ReadonlySet<string>;
  /** Categories to steer toward: the request's, the onboarding ones, the session's most frequent. */
  interests: string[];
  /** The `item_detail` context item, when the release knows it. */
  contextItem?: number;
}

/** One generator's proposals, best first, with scores normalised by the generator to 0..1. */
export interface ProposedList {
  generator: GeneratorName;
  items: ArrayLike<number>;
  scores: ArrayLike<number>;
}

export interface Candidate {
  /** The item's row in the release, or -1 for an item created after it (then `itemId` names it). */
  item: number;
  /** Only for an item the release does not contain: the budget slot can show such an item. */
  itemId?: string;
  /** The blended score (set by ranking). */
  score: number;
  /** Each proposing generator's normalised score. */
  sources: Map<GeneratorName, number>;
  exploration: boolean;
  /** P(shown at its position | policy), set by exploration. */
  propensity: number;
}

export function idOf(state: HotState, c: Candidate): string {
  return c.itemId ?? state.items.ids[c.item];
}

/** Scores 1 for the first of `n` items down to 1/n for the last: for generators that only rank. */
export function rankScores(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, r) => 1 - r / n);
}

/** Merges the proposals into one candidate per item, remembering who proposed it and how strongly. */
export function mergeProposals(lists: readonly ProposedList[]): Candidate[] {
  const byItem = new Map<number, Candidate>();
  for (const list of lists)
    for (let r = 0; r < list.items.length; r++) {
      const item = list.items[r];
      let candidate = byItem.get(item);
      if (candidate === undefined) {
        candidate = { item, score: 0, sources: new Map(), exploration: false, propensity: 1 };
        byItem.set(item, candidate);
      }
      candidate.sources.set(
        list.generator,
        Math.max(candidate.sources.get(list.generator) ?? 0, list.scores[r]),
      );
    }
  return [...byItem.values()];
}

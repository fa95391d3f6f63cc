/**
 * One request through the design's stages, over the hot state:
 *
 *   candidates (ANN · session neighbours · cohort popularity · fresh · similar to the page's item)
 *     → filter (seen · blocked/retired · excluded)
 *     → rank (the release's ranker where it won its gate and knows the user, else the score blend)
 *     → post-process (business rules · MMR · category cap · freshness slot · ε-greedy exploration)
 *     → k items
 *
 * Only the ANN search leaves the process; everything else is pure over memory. The request's
 * deadline bounds all of it: the search gets what is left of it (at most its own budget), and
 * the optional stages (the ranker, MMR) run only when enough time is left for them. A skipped
 * stage, a slow search and a late slate are each a reason in `degradedReasons`, never silence.
 */
import { randomUUID } from 'node:crypto';
import type { RecommendError, RecommendRequest, RecommendSlate, StageTimings } from '../../schemas/recommend';
import { mulberry32 } from '../models/random';
import { mergeRecent, topCategories } from '../realtime/session-state';
import type { SessionLookup } from '../realtime/session-store';
import { blendScores } from './blend-scores';
import { type Candidate, idOf, mergeProposals, type RequestContext } from './candidates';
import { available } from './filters/availability';
import { notExcluded } from './filters/excluded';
import { notSeen } from './filters/seen';
import { annCandidates } from './generators/ann';
import { cohortPopularity } from './generators/cohort-popularity';
import { freshItems } from './generators/fresh-items';
import { interestItems } from './generators/interests';
import { sessionNeighbours } from './generators/session-neighbours';
import { similarItems } from './generators/similar-items';
import type { HotState } from './hot-state';
import type { FallbackSearch } from './item-search';
import { type ExplorationSlots, notBudgeted, spendExplorationSlot } from './post/budgeted-exploration';
import { applyBusinessRules } from './post/business-rules';
import { capCategories } from './post/category-cap';
import { explore } from './post/exploration';
import { reserveFreshSlot } from './post/freshness-slot';
import { diversify } from './post/mmr';
import type { OnnxRankingStage } from './rank/onnx-ranker';
import type { ServingConfig } from './serving-config';
import { type Variant, variantOfRequest } from './variants';

export interface PipelineDeps {
  config: ServingConfig;
  variants: ReadonlyMap<string, Variant>;
  search: FallbackSearch;
  /** The logged sessions (services/realtime): merged with the request's recentItems. */
  sessions?: SessionLookup;
  /** The exploration budgets this replica leases from. */
  budget?: ExplorationSlots;
}

/** As many as a request may send; and the session categories that count as interests. */
const recentLimit = 50;
const sessionInterests = 3;

/**
 * Time a request must have left to run an optional stage. The ranker's run costs ~3 ms idle and
 * its p99 reaches ~20 ms on a busy replica (it waits for the event loop), so with less than
 * this left the generators' blend orders the slate; MMR costs well under a millisecond.
 */
export const rankerReserveMs = 10;
export const diversifyReserveMs = 2;

export type PipelineResult = { ok: true; slate: RecommendSlate } | { ok: false; error: RecommendError };

export async function runPipeline(
  request: RecommendRequest,
  state: HotState,
  deps: PipelineDeps,
  startedAt = performance.now(),
): Promise<PipelineResult> {
  const variantName = variantOfRequest(deps.config, request);
  const variant = deps.variants.get(variantName);
  if (variant === undefined)
    return {
      ok: false,
      error: { code: 'unknown_variant', message: `variant '${variantName}' is not configured` },
    };
  const contextItem = request.itemId === undefined ? undefined : state.items.index.get(request.itemId);
  if (request.surface === 'item_detail' && contextItem === undefined)
    return {
      ok: false,
      error: { code: 'unknown_item', message: `item '${request.itemId}' is not in release ${state.version}` },
    };
  const session = deps.sessions?.session(request.userId);
  const recent: number[] = [];
  const recentUnreleased = new Set<string>();
  for (const id of mergeRecent(request.recentItems, session, recentLimit)) {
    const item = state.items.index.get(id);
    if (item !== undefined) recent.push(item);
    else recentUnreleased.add(id);
  }
  const context: RequestContext = {
    request,
    state,
    params: variant.params,
    user: state.users.index.get(request.userId),
    recent,
    recentUnreleased,
    interests: [
      ...new Set([
        ...request.interests,
        ...state.catalog.interestsOfUser(request.userId),
        ...topCategories(session, sessionInterests),
      ]),
    ],
    contextItem,
  };
  const clock = stageClock(startedAt);
  const { deadlineMs } = deps.config;
  const remaining = () => deadlineMs - (performance.now() - startedAt);
  const degradedReasons: string[] = [];
  const skip = (stage: string) =>
    degradedReasons.push(
      `${stage} skipped: ${Math.max(0, remaining()).toFixed(1)} ms of the ${deadlineMs} ms deadline left`,
    );

  const ann = await annCandidates(context, deps.search, Math.min(deps.config.searchBudgetMs, remaining()));
  if (ann.degraded !== undefined) degradedReasons.push(ann.degraded);
  const lists = [
    ann.list,
    sessionNeighbours(context),
    cohortPopularity(context),
    freshItems(context),
    interestItems(context),
  ];
  if (request.surface === 'item_detail') lists.push(similarItems(context));
  const twoTower = await state.twoTower?.propose(context);
  if (twoTower !== undefined) lists.push(twoTower);
  const weighted = lists.filter((l) => variant.params.weights[l.generator] > 0);
  const candidates = mergeProposals(weighted);
  const candidatesMs = clock();

  const filters = [notSeen(context), available(context), notExcluded(context)];
  const eligible = (c: Candidate) => filters.every((keep) => keep(c));
  const unbudgeted = deps.budget === undefined ? () => true : notBudgeted(context, deps.budget);
  const kept = candidates.filter((c) => eligible(c) && unbudgeted(c));
  const filterMs = clock();

  let ranked = blendScores(context, kept);
  let rankerRan = false;
  if (state.ranker?.knows(context) === true && variant.params.ranker) {
    if (remaining() < rankerReserveMs) skip('ranker');
    else {
      ranked = await rankHead(state.ranker, context, ranked, variant.params.rankerCandidates);
      rankerRan = true;
    }
  }
  const rankMs = clock();

  const slateId = randomUUID();
  let list: Candidate[] = applyBusinessRules(context, ranked);
  if (variant.params.mmrLambda < 1 && remaining() < diversifyReserveMs) skip('MMR');
  else list = diversify(context, list);
  list = capCategories(context, list);
  list = reserveFreshSlot(context, list);
  const random = mulberry32(seedOf(slateId));
  list = explore(context, list, random);
  if (deps.budget !== undefined) list = spendExplorationSlot(context, list, deps.budget, eligible, random);
  const postprocessMs = clock();

  const timings: StageTimings = {
    candidates: candidatesMs,
    filter: filterMs,
    rank: rankMs,
    postprocess: postprocessMs,
    total: round(performance.now() - startedAt),
  };
  if (timings.total > deadlineMs)
    degradedReasons.push(`answered in ${timings.total} ms, over the ${deadlineMs} ms deadline`);
  return {
    ok: true,
    slate: {
      ok: true,
      contract: 2,
      slateId,
      userId: request.userId,
      surface: request.surface,
      items: list.map((c, i) => ({
        itemId: idOf(state, c),
        rank: i + 1,
        score: round(c.score, 1e6),
        propensity: c.propensity,
        reasons: {
          generators: [...c.sources.keys()],
          exploration: c.exploration,
          fresh: state.catalog.isFresh(idOf(state, c), variant.params.freshDays),
        },
      })),
      modelVersion: state.version,
      modelVersions: rankerRan ? state.modelVersions : withoutRanker(state.modelVersions),
      strategy: ann.strategy,
      variant: variant.name,
      timings,
      degraded: degradedReasons.length > 0,
      degradedReasons,
    },
  };
}

/**
 * The ranker over the blend's best `depth` candidates; the others keep the blend's order below
 * them, scored as the lowest ranked one so no later stage mixes the two scales.
 */
async function rankHead(
  ranker: OnnxRankingStage,
  context: RequestContext,
  blended: Candidate[],
  depth: number,
): Promise<Candidate[]> {
  if (blended.length <= depth) return ranker.rank(context, blended);
  const head = await ranker.rank(context, blended.slice(0, depth));
  const floor = head.length === 0 ? 0 : head[head.length - 1].score;
  for (let i = depth; i < blended.length; i++) {
    blended[i].score = floor;
    head.push(blended[i]);
  }
  return head;
}

/** The versions of the models that shaped a slate: the ranker's only where it ranked. */
function withoutRanker(versions: Record<string, string>): Record<string, string> {
  if (versions.ranker === undefined) return versions;
  const { ranker: _, ...rest } = versions;
  return rest;
}

/** Milliseconds since the last call (the first since `from`). */
function stageClock(from: number): () => number {
  let last = from;
  return () => {
    const now = performance.now();
    const ms = round(now - last);
    last = now;
    return ms;
  };
}

const round = (x: number, scale = 1000) => Math.round(x * scale) / scale;

/** The exploration draws of a slate are reproducible from its id. */
function seedOf(slateId: string): number {
  return Number.parseInt(slateId.slice(0, 8), 16) >>> 0;
}

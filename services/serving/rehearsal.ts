/**
 * Requests a replica answers to itself before a state takes traffic. A fresh process runs its
 * first requests through code the JIT has not compiled yet, and a new ONNX session's first runs
 * allocate: without a rehearsal the first real users pay for both (in the demo's replay the
 * first second of traffic took 2-3 times as long as the rest).
 */
import type { RecommendRequest } from '../../schemas/recommend';
import type { HotState } from './hot-state';
import { type PipelineDeps, runPipeline } from './pipeline';

/** Enough runs for the JIT to optimise the pipeline's hot loops, few enough to add well under a second to a load. */
export const rehearsalRuns = 60;

/**
 * The most wall time a rehearsal starts requests in. Each run may wait on Elasticsearch, and a
 * busy cluster (or a freshly backfilled index it has not paged in) made 60 runs take over 20 s
 * in CI, holding a promoted release back from traffic all that time.
 */
export const rehearsalBudgetMs = 2_000;

/**
 * Known users spread over the release, each variant in turn, with every surface and a new user's
 * cold start among them, so each generator and stage a live request can reach has run.
 */
export function rehearsalRequests(
  state: Pick<HotState, 'users' | 'items'>,
  variants: readonly string[],
  runs: number = rehearsalRuns,
): RecommendRequest[] {
  const users = [...state.users.index.keys()];
  const items = state.items.ids;
  const requests: RecommendRequest[] = [];
  for (let n = 0; n < runs; n++) {
    const known = users.length > 0 && n % 6 !== 5;
    const base: RecommendRequest = {
      userId: known ? users[Math.floor((n * users.length) / runs)] : `rehearsal-new-user-${n}`,
      surface: 'homepage',
      k: 10,
      recentItems: [],
      exclude: [],
      interests: [],
      variant: variants.length === 0 ? undefined : variants[n % variants.length],
    };
    const item = items.length === 0 ? undefined : items[(n * 7919) % items.length];
    if (n % 4 === 1 && item !== undefined) requests.push({ ...base, surface: 'item_detail', itemId: item });
    else if (n % 4 === 3) requests.push({ ...base, surface: 'email' });
    else requests.push(item === undefined ? base : { ...base, recentItems: n % 2 === 0 ? [item] : [] });
  }
  return requests;
}

/**
 * Runs the requests through the pipeline one at a time and forgets the answers: no impression is
 * logged, no exploration budget spent, no session read. A failure here never keeps a replica
 * from serving: live requests meet the same failure and report it. The search keeps its own
 * health, so slow answers to the rehearsal never cool down the search live requests use; no
 * request starts after `budgetMs`.
 */
export async function rehearse(
  state: HotState,
  deps: Pick<PipelineDeps, 'config' | 'variants' | 'search'>,
  requests: readonly RecommendRequest[],
  budgetMs: number = rehearsalBudgetMs,
): Promise<number> {
  const quiet = { config: deps.config, variants: deps.variants, search: deps.search.detached() };
  const until = performance.now() + budgetMs;
  let runs = 0;
  for (const request of requests) {
    if (performance.now() >= until) break;
    await runPipeline(request, state, quiet).catch(() => undefined);
    runs++;
  }
  return runs;
}

/**
 * Nearest items to a query vector, behind one interface: Elasticsearch kNN over the release's
 * own index in normal operation, an exact in-process search over the release's vectors when
 * Elasticsearch is slow or down. `FallbackSearch` chooses, within a time budget, and stays on
 * the in-process search for a cool-down after a failure before trying Elasticsearch again. A
 * release too large to scan within a request's deadline gets no kNN candidates instead: the
 * other generators answer, and the reply says so.
 */
import type { Client } from '@elastic/elasticsearch';
import { knnSearchBody } from '../catalog/vector-index';
import { topK } from '../evaluation/topk';
import { SearchBatcher } from './batched-search';
import type { HotState } from './hot-state';

export interface KnnQuery {
  vector: Float32Array;
  k: number;
  /** Items that must not come back: history, session, the request's exclusions, unavailable items. */
  excluded: ReadonlySet<string>;
}

export interface ItemSearch {
  /** Item ids, nearest first. */
  nearest(state: HotState, query: KnnQuery, signal: AbortSignal): Promise<string[]>;
}

/** One score buffer per release: the scan is synchronous, so requests never share it at the same time. */
const scratch = new WeakMap<HotState, Float32Array>();

/** Inner product over every item of the release: exact, and fast enough for a degraded answer. */
export const exactSearch: ItemSearch = {
  async nearest(state, { vector, k, excluded }) {
    const { ids, dims, vectors } = state.items;
    let scores = scratch.get(state);
    if (scores === undefined) {
      scores = new Float32Array(ids.length);
      scratch.set(state, scores);
    }
    for (let row = 0; row < ids.length; row++) {
      let dot = 0;
      const base = row * dims;
      for (let d = 0; d < dims; d++) dot += vectors[base + d] * vector[d];
      scores[row] = dot;
    }
    for (const id of excluded) {
      const row = state.items.index.get(id);
      if (row !== undefined) scores[row] = Number.NaN;
    }
    return Array.from(topK(scores, k), (row) => ids[row]);
  },
};

type KnnSearch = ReturnType<typeof knnSearchBody> & { index: string };

/**
 * kNN over the release's versioned index, availability and exclusions filtered inside the query;
 * concurrent requests' searches go to Elasticsearch together, as one `_msearch`.
 */
export function elasticsearchSearch(client: Client): ItemSearch {
  const batcher = new SearchBatcher<KnnSearch, string[]>(async (searches) => {
    const { responses } = await client.msearch(
      { searches: searches.flatMap(({ index, ...body }) => [{ index }, body]) },
      { maxRetries: 0 },
    );
    return responses.map((r) =>
      'error' in r
        ? new Error(`kNN search failed: ${r.error.reason ?? r.error.type}`)
        : r.hits.hits.map((h) => h._id as string),
    );
  });
  return {
    nearest(state, { vector, k, excluded }, signal) {
      const filter = {
        bool: { filter: { term: { status: 'active' } }, must_not: { ids: { values: [...excluded] } } },
      };
      // Filtered-out history shrinks the candidate pool, so heavy users get a wider search.
      const numCandidates = Math.min(10_000, Math.max(2 * k, 100) + excluded.size);
      return batcher.search(
        { index: state.vectorIndex, ...knnSearchBody(Array.from(vector), k, numCandidates, filter) },
        signal,
      );
    },
  };
}

/** The primary search for a release under the configured policy. */
export function chooseSearch(
  policy: 'auto' | 'elasticsearch' | 'in-process',
  maxCells: number,
  elasticsearch: ItemSearch,
): (state: HotState) => ItemSearch {
  return (state) => {
    if (policy === 'elasticsearch') return elasticsearch;
    if (policy === 'in-process') return exactSearch;
    return state.items.ids.length * state.items.dims <= maxCells ? exactSearch : elasticsearch;
  };
}

/**
 * The largest release (items × dimensions) the fallback scans: ~10–20 ms of one core. A 1M × 64
 * release would take ~60 ms per request, and under the cool-down every request scans, so a
 * slow Elasticsearch would leave the replica's event loop saturated and never recovering.
 */
export const fallbackScanCells = 16_000_000;

export interface SearchOutcome {
  ids: string[];
  /** Why the in-process search answered, when it did. */
  degraded?: string;
}

export class FallbackSearch {
  private skipUntil = 0;

  constructor(
    private readonly primaryFor: (state: HotState) => ItemSearch,
    private readonly fallback: ItemSearch,
    private readonly cooldownMs: number,
  ) {}

  async nearest(state: HotState, query: KnnQuery, budgetMs: number): Promise<SearchOutcome> {
    const never = new AbortController().signal;
    const primary = this.primaryFor(state);
    if (primary === this.fallback) return { ids: await primary.nearest(state, query, never) };
    if (Date.now() < this.skipUntil)
      return this.fallBack(state, query, 'search cooling down after a failure');
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const overBudget = new Promise<'over budget'>((resolve) => {
      timer = setTimeout(() => resolve('over budget'), Math.max(1, budgetMs));
    });
    try {
      const answer = await Promise.race([primary.nearest(state, query, abort.signal), overBudget]);
      if (answer !== 'over budget') return { ids: answer };
      abort.abort();
      this.skipUntil = Date.now() + this.cooldownMs;
      return this.fallBack(state, query, `search over its ${budgetMs} ms budget`);
    } catch (error) {
      this.skipUntil = Date.now() + this.cooldownMs;
      return this.fallBack(state, query, `search failed: ${(error as Error).message.slice(0, 200)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private async fallBack(state: HotState, query: KnnQuery, reason: string): Promise<SearchOutcome> {
    const { ids, dims } = state.items;
    if (ids.length * dims > fallbackScanCells)
      return {
        ids: [],
        degraded: `${reason}; ${ids.length} items are too many to scan in process: no kNN candidates`,
      };
    return { ids: await this.fallback.nearest(state, query, new AbortController().signal), degraded: reason };
  }
}

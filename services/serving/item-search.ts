/**
 * Nearest items to a query vector, behind one interface: Elasticsearch kNN over the release's
 * own index in normal operation, an exact in-process search over the release's vectors when
 * Elasticsearch is slow or down. `FallbackSearch` chooses, within a time budget, and stays on
 * the in-process search for a cool-down after a failure before trying Elasticsearch again. A
 * release too large to scan within a request's deadline gets no kNN candidates instead: the
 * other generators answer, and the reply says so.
 */
import type { Client } from '@elastic/elasticsearch';
import {
  candidatesFor,
  hitsOf,
  type KnnHit,
  knnSearchBody,
  maxCandidates,
  mergeBands,
  vectorSpaceOf,
} from '../catalog/vector-index';
import { type BandQuery, searchVectors, type VectorSpace } from '../catalog/vector-space';
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
 * Availability inside the query, as one query that never changes: Elasticsearch caches a
 * repeated filter's matches per segment, and a filtered kNN otherwise builds them afresh on
 * every search, one pass over all of the index's documents (on 1M items that pass cost more
 * than the graph search itself).
 */
export const availableItems = { bool: { must_not: { terms: { status: ['blocked', 'retired'] } } } };

export interface BandedSearch {
  bands: BandQuery[];
  /** One search per band. */
  searches: KnnSearch[];
  /** The items each band is asked for, and the merge keeps. */
  wanted: number;
}

/**
 * The kNN search for `k` items none of which is in `excluded`. The exclusions differ per request,
 * so they are not a filter of the query (that would be a pass over the whole index per search):
 * the search asks for that many more and the answer drops them. Unavailable items are not
 * counted, since the availability filter already keeps them out.
 */
export function knnSearch(
  index: string,
  { vector, k, excluded }: KnnQuery,
  unavailable: ReadonlySet<string>,
  space: VectorSpace,
): BandedSearch {
  let personal = 0;
  for (const id of excluded) if (!unavailable.has(id)) personal++;
  const wanted = Math.min(maxCandidates, k + personal);
  const bands = searchVectors(space, vector);
  return {
    bands,
    wanted,
    searches: bands.map((band) => ({
      index,
      ...knnSearchBody(band, wanted, candidatesFor(wanted), availableItems),
    })),
  };
}

/**
 * kNN over the release's versioned index, availability filtered inside the query; concurrent
 * requests' searches go to Elasticsearch together, as one `_msearch`, cancelled once every
 * request in it has given up at its budget.
 */
export function elasticsearchSearch(client: Client): ItemSearch {
  const batcher = new SearchBatcher<KnnSearch, KnnHit[]>(async (searches, abandoned) => {
    const { responses } = await client.msearch(
      { searches: searches.flatMap(({ index, ...body }) => [{ index }, body]) },
      { maxRetries: 0, signal: abandoned },
    );
    return responses.map((r) =>
      'error' in r ? new Error(`kNN search failed: ${r.error.reason ?? r.error.type}`) : hitsOf(r.hits.hits),
    );
  });
  return {
    async nearest(state, query, signal) {
      // Read when the replica loads the release; only a replica that could not reach
      // Elasticsearch then reads it here, within the request's budget.
      const space = await vectorSpaceOf(client, state.vectorIndex, { signal, maxRetries: 0 });
      const { bands, searches, wanted } = knnSearch(
        state.vectorIndex,
        query,
        state.catalog.unavailable,
        space,
      );
      // The bands' searches join the same multi-search: they are queued together.
      const hits = await Promise.all(searches.map((search) => batcher.search(search, signal)));
      return mergeBands(bands, hits, wanted)
        .filter((id) => !query.excluded.has(id))
        .slice(0, query.k);
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
  /** When the answers over budget began, none in time since; undefined after one in time. */
  private lateSince: number | undefined;

  /**
   * A failure cools the primary down at once; answers over budget only once they have kept
   * coming for `lateSpanMs` with none in time between. Concurrent searches share one `_msearch`,
   * so one slow batch makes several late answers together: counted in a row, three of them cooled
   * the search down (on the 1M-item bench, 46 late answers out of 6,000 left 1,404 more requests
   * without kNN). A slow Elasticsearch still costs each request only its budget until then.
   */
  constructor(
    private readonly primaryFor: (state: HotState) => ItemSearch,
    private readonly fallback: ItemSearch,
    private readonly cooldownMs: number,
    private readonly lateSpanMs = 500,
  ) {}

  /** The same searches with a health of their own: what happens to its answers leaves this one's cool-down alone. */
  detached(): FallbackSearch {
    return new FallbackSearch(this.primaryFor, this.fallback, this.cooldownMs, this.lateSpanMs);
  }

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
      if (answer !== 'over budget') {
        this.lateSince = undefined;
        return { ids: answer };
      }
      abort.abort();
      const now = Date.now();
      this.lateSince ??= now;
      if (now - this.lateSince >= this.lateSpanMs) {
        this.lateSince = undefined;
        this.skipUntil = now + this.cooldownMs;
      }
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

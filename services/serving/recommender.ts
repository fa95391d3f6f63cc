/**
 * Answers a recommendation request from the champion release and the item index: the user's
 * vector (steered by the session's recent items, the real-time signal) is the kNN query over the
 * `cairn-items` alias, filtered to active items the user has not interacted with (training
 * history and this session).
 */
import type { Client } from '@elastic/elasticsearch';
import type { RecommendRequest, RecommendResponse, RecommendStrategy } from '../../schemas/recommend';
import { nearestItems } from '../catalog/vector-index';
import type { ModelRegistry } from '../registry/model-registry';
import { retrievalFamily } from '../training/families';

interface ChampionVectors {
  version: string;
  dims: number;
  userIndex: Map<string, number>;
  userVectors: Float32Array;
  /** Per user, the item ids of the training history: filtered out of every answer. */
  seen: string[][];
  /** The mean item vector: under inner product it ranks items roughly by popularity. */
  coldStart: Float32Array;
}

/** How much the session's items weigh against the user's long-term vector. */
const sessionWeight = 0.5;

export class Recommender {
  private champion?: ChampionVectors;

  constructor(
    private readonly search: Client,
    private readonly registry: ModelRegistry,
    private readonly itemsAlias: string,
  ) {}

  /** Loads the current champion; a no-op when it has not changed. Returns its version. */
  async refresh(): Promise<string | undefined> {
    const release = await this.registry.champion(retrievalFamily);
    if (release === undefined || release.version === this.champion?.version) return this.champion?.version;
    const read = (file: string) => this.registry.artifact(retrievalFamily, release.version, file);
    const floats = (bytes: Uint8Array) => {
      const aligned = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(aligned.buffer).set(bytes);
      return aligned;
    };
    const dims = (release.metadata as { dims: number }).dims;
    const userIds = JSON.parse(new TextDecoder().decode(await read('user-ids.json'))) as string[];
    const itemVectors = floats(await read('item-vectors.f32'));
    const itemIds = JSON.parse(new TextDecoder().decode(await read('item-ids.json'))) as string[];
    const seenIndexes = JSON.parse(new TextDecoder().decode(await read('user-seen.json'))) as number[][];
    const coldStart = new Float32Array(dims);
    const items = itemVectors.length / dims;
    for (let i = 0; i < items; i++)
      for (let d = 0; d < dims; d++) coldStart[d] += itemVectors[i * dims + d] / items;
    this.champion = {
      version: release.version,
      dims,
      userIndex: new Map(userIds.map((id, i) => [id, i])),
      userVectors: floats(await read('user-vectors.f32')),
      seen: seenIndexes.map((row) => row.map((i) => itemIds[i])),
      coldStart,
    };
    return release.version;
  }

  async recommend(request: RecommendRequest): Promise<RecommendResponse> {
    const champion = this.champion;
    if (champion === undefined)
      return { ok: false, error: 'no model has been promoted yet: run cairn retrain' };
    const user = champion.userIndex.get(request.userId);
    const session = await this.sessionVector(request.recentItems, champion.dims);
    let query: Float32Array;
    let strategy: RecommendStrategy;
    if (user !== undefined) {
      query = champion.userVectors.slice(user * champion.dims, (user + 1) * champion.dims);
      strategy = 'user';
      if (session !== undefined) {
        for (let d = 0; d < champion.dims; d++)
          query[d] = (1 - sessionWeight) * query[d] + sessionWeight * session[d];
        strategy = 'user+session';
      }
    } else if (session !== undefined) {
      query = session;
      strategy = 'session';
    } else {
      query = champion.coldStart;
      strategy = 'cold-start';
    }
    const filter = {
      bool: {
        filter: { term: { status: 'active' } },
        must_not: {
          ids: { values: [...request.recentItems, ...(user === undefined ? [] : champion.seen[user])] },
        },
      },
    };
    const ids = await nearestItems(
      this.search,
      this.itemsAlias,
      Array.from(query),
      request.k,
      // Filtered-out history shrinks the candidate pool, so heavy users get a wider search.
      Math.min(10_000, Math.max(100, 10 * request.k) + filter.bool.must_not.ids.values.length),
      filter,
    );
    return {
      ok: true,
      userId: request.userId,
      items: ids.map((itemId, rank) => ({ itemId, rank: rank + 1 })),
      modelVersion: champion.version,
      strategy,
    };
  }

  /** Mean vector of the session's items that the index knows; undefined when it knows none. */
  private async sessionVector(itemIds: string[], dims: number): Promise<Float32Array | undefined> {
    if (itemIds.length === 0) return undefined;
    const found = await this.search.mget<{ vector: number[] }>({
      index: this.itemsAlias,
      ids: itemIds,
      _source_includes: ['vector'],
    });
    const mean = new Float32Array(dims);
    let known = 0;
    for (const doc of found.docs) {
      const vector = '_source' in doc ? doc._source?.vector : undefined;
      if (vector === undefined) continue;
      for (let d = 0; d < dims; d++) mean[d] += vector[d];
      known++;
    }
    if (known === 0) return undefined;
    for (let d = 0; d < dims; d++) mean[d] /= known;
    return mean;
  }
}

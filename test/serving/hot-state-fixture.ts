/** A small hot state for the pipeline's unit tests: 3-d vectors in three clusters, one category each. */

import { recommendRequestSchema } from '../../schemas/recommend';
import type { RequestContext } from '../../services/serving/candidates';
import { buildHotState, type HotState } from '../../services/serving/hot-state';
import { LiveCatalog } from '../../services/serving/live-catalog';
import { parseServingConfig } from '../../services/serving/serving-config';

/** Items a0..a7 point along x (category A), b0..b7 along y (B), c0..c7 along z (C). */
export function fixtureState(catalog = new LiveCatalog()): HotState {
  const ids: string[] = [];
  const vectors: number[] = [];
  const axes = ['a', 'b', 'c'];
  const day = 86_400_000;
  axes.forEach((axis, a) => {
    for (let n = 0; n < 8; n++) {
      const id = `${axis}${n}`;
      ids.push(id);
      const v = [0.1, 0.1, 0.1];
      // Lower-numbered items are stronger along their axis: a0 is the "most popular" of A.
      v[a] = 1 - n * 0.05;
      v[(a + 1) % 3] = 0.02 * n;
      vectors.push(...v);
      catalog.apply({
        eventId: `e-${id}`,
        type: 'item_created',
        itemId: id,
        occurredAt: Date.UTC(2024, 0, 1) + (n === 7 ? 30 * day : n * day),
        title: id,
        categories: [axis.toUpperCase()],
        year: 2000,
        text: '',
        qualityFlags: [],
      });
    }
  });
  catalog.applyUser({
    eventId: 'u-x',
    type: 'user_created',
    userId: 'ux',
    occurredAt: Date.UTC(2024, 0, 1),
    demographics: { age: 30, gender: 'F', occupation: 'writer' },
  });
  return buildHotState(
    {
      family: 'retrieval',
      version: 'v1',
      dims: 3,
      itemIds: ids,
      itemVectors: Float32Array.from(vectors),
      // ux likes A and has seen a0, a1; uy likes B; b0 is the most popular item.
      // h0..h5 each watched one whole cluster: items co-occur within their cluster.
      userIds: ['ux', 'uy', 'uz', 'h0', 'h1', 'h2', 'h3', 'h4', 'h5'],
      userVectors: Float32Array.from([
        1,
        0.05,
        0.05,
        0.05,
        1,
        0.05,
        0.05,
        0.05,
        1,
        ...new Array(18).fill(0.1),
      ]),
      seen: [
        [0, 1],
        [8, 9, 10],
        [8],
        ...[0, 1, 2, 0, 1, 2].map((c) => Array.from({ length: 8 }, (_, i) => 8 * c + i)),
      ],
    },
    catalog,
    'cairn-items-retrieval-v1',
  );
}

export function contextOf(
  state: HotState,
  request: Record<string, unknown>,
  params: Record<string, unknown> = {},
): RequestContext {
  const parsed = recommendRequestSchema.parse(request);
  const config = parseServingConfig({ pipeline: params });
  const recent: number[] = [];
  for (const id of parsed.recentItems) {
    const item = state.items.index.get(id);
    if (item !== undefined) recent.push(item);
  }
  return {
    request: parsed,
    state,
    params: config.pipeline,
    user: state.users.index.get(parsed.userId),
    recent,
    interests: parsed.interests,
    contextItem: parsed.itemId === undefined ? undefined : state.items.index.get(parsed.itemId),
  };
}

export const idsOf = (state: HotState, items: ArrayLike<number>) =>
  Array.from(items, (i) => state.items.ids[i]);

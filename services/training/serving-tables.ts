/**
 * What serving reads besides the vectors, computed once per release by the retrain instead of by
 * every replica at load: the item-item neighbour table of the session generator, popularity by
 * cohort, and the content→embedding map for items nobody has interacted with yet.
 *
 * Neighbours come from co-occurrence in the training histories, not from the item vectors:
 * `cairn bench session` measured the session signal at NDCG@10 0.127 with co-occurrence against
 * 0.111 with vector neighbours on ML-100K.
 */
import type { ItemVectors } from '../catalog/item-vectors';
import { type ContentMap, fitContentMap, type ItemContent } from '../lifecycle/content-embedding';
import { neighboursPerItem } from '../serving/hot-state';
import { HistoryNeighbours } from '../serving/item-neighbours';
import { cohortOf } from '../serving/live-catalog';
import { popularityTables } from '../serving/popularity-tables';

export interface ServingTables {
  /**
   * Per item, in item-vector order: [neighbour indexes, scores], best first. Undefined over
   * `neighbourTableMaxItems`: replicas then compute an item's neighbours when it is first asked for.
   */
  neighbours?: [number[], number[]][];
  /**
   * Per cohort key (`ageBand|gender|occupation`, `?` where unknown): the `cohortTableLength` most
   * popular item indexes, most popular first.
   */
  cohortPopularity: Record<string, number[]>;
  /** Undefined when no item has both content and a collaborative vector. */
  contentMap?: ContentMap;
}

export interface ServingTableSources {
  items: ItemVectors;
  users: { ids: readonly string[]; seen: readonly number[][] };
  /** The demographics a user was created with, as partial as they came. */
  demographics: ReadonlyMap<string, { age?: number; gender?: string; occupation?: string }>;
  content: ReadonlyMap<string, ItemContent>;
}

/**
 * Every item's neighbours cost the sum over users of their history length squared, and the table
 * about 1.6 kB of JSON per item: at a million items, hours and more than a JSON string can hold.
 */
export const neighbourTableMaxItems = 100_000;

/**
 * Serving reads at most `perGenerator` (≤ 2,000) items of a cohort's ranking, so the rest of a
 * large catalog's ranking is never read: a million items in ~300 cohorts would not fit one JSON.
 */
export const cohortTableLength = 2_000;

/** Five significant digits: the scores only order and weigh candidates, and the table is JSON. */
const compact = (score: number) => Number(score.toPrecision(5));

export function buildServingTables({
  items,
  users,
  demographics,
  content,
}: ServingTableSources): ServingTables {
  const seen = users.seen.map((row) => Int32Array.from(row).sort());
  let neighbours: ServingTables['neighbours'];
  if (items.ids.length <= neighbourTableMaxItems) {
    const cooccurrence = new HistoryNeighbours(seen, items.ids.length, neighboursPerItem);
    neighbours = items.ids.map((_, item): [number[], number[]] => {
      const list = cooccurrence.of(item);
      return [Array.from(list.items), Array.from(list.scores, compact)];
    });
  }
  const { byCohort } = popularityTables(
    seen,
    items.ids.length,
    (u) => {
      const d = demographics.get(users.ids[u]);
      return d === undefined ? undefined : cohortOf(d);
    },
    cohortTableLength,
  );
  const cohortPopularity = Object.fromEntries(
    [...byCohort].map(([cohort, ranked]) => [cohort, Array.from(ranked)]),
  );
  const fittable = items.ids.some(
    (id, row) =>
      content.has(id) &&
      items.vectors.subarray(row * items.dims, (row + 1) * items.dims).some((x) => x !== 0),
  );
  return { neighbours, cohortPopularity, contentMap: fittable ? fitContentMap(items, content) : undefined };
}

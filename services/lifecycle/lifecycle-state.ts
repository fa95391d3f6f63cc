/**
 * The state an item's lifecycle workflow keeps, and the pure rules that change it. The workflow
 * imports this module, so it stays free of I/O and of anything non-deterministic.
 *
 *   uncreated  counts arrived before item_created: they are kept, and the item waits for its content
 *   cold       the item has a vector from its content and an exploration budget, no impression yet
 *   exploring  impressions are being served out of the budget; interactions are counted
 *   warm       enough interactions: the item has a collaborative vector, exploration is over
 *   retired / blocked  the item left the index; the workflow has ended
 */
import type { ItemContent } from './content-embedding';

export type LifecycleStage = 'uncreated' | 'cold' | 'exploring' | 'warm' | 'retired' | 'blocked';
export type CountedStream = 'impressions' | 'interactions';

/** The events of one item on one partition of one stream. */
export interface CountContribution {
  stream: CountedStream;
  partition: number;
  /**
   * The offsets of the item's events, ascending and distinct. Listed one by one rather than as a
   * range and a count: a batch resent after a crash may overlap what was counted only in part,
   * and only the offsets tell which of its events are new.
   */
  offsets: number[];
}

/**
 * The form signalled before offsets were listed. Running lifecycles have such signals in their
 * histories, and replaying them must count what it counted then.
 */
export interface RangeContribution {
  stream: CountedStream;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  count: number;
}

/** What the counting consumer signals, at most once per item per interval. */
export interface CountBatch {
  contributions: (CountContribution | RangeContribution)[];
  /** Users who interacted, for the fold-in. */
  users: string[];
}

/** A change of an item's content (item_updated): only the fields it names change. */
export type ContentChange = Partial<ItemContent>;

export interface ItemVector {
  /** release: trained by the retrain; content: the content map; fold-in: from its interactions. */
  source: 'release' | 'content' | 'fold-in';
  version: string;
}

export interface LifecycleRecord {
  itemId: string;
  /** Absent until item_created reached the lifecycle (counts may come first). */
  content?: ItemContent;
  stage: LifecycleStage;
  impressions: number;
  interactions: number;
  /** Distinct users who interacted, up to `usersKept`: the positives of the fold-in. */
  users: string[];
  /** `stream:partition` → last offset counted, so a redelivered contribution is not counted twice. */
  watermarks: Record<string, number>;
  /** Absent while no release is serving (nothing to place the item in yet). */
  vector?: ItemVector;
  /** Impressions granted for exploration (0 for an item that came trained). */
  budget: number;
  /** Interactions counted when a fold-in last failed (no release serving, or none of the users in it). */
  foldInFailedAt?: number;
  endReason?: string;
}

export interface LifecycleLimits {
  warmAfterInteractions: number;
  usersKept: number;
}

export function newRecord(itemId: string, content: ItemContent | undefined): LifecycleRecord {
  return {
    itemId,
    content,
    stage: content === undefined ? 'uncreated' : 'cold',
    impressions: 0,
    interactions: 0,
    users: [],
    watermarks: {},
    budget: 0,
  };
}

/**
 * Adds a batch to the counters. Per `stream:partition` the record keeps the last offset counted:
 * the consumer commits only after signalling, so after a crash it resends events from the last
 * commit on, and those at or below the watermark were counted already. Returns the events counted.
 */
export function applyCounts(record: LifecycleRecord, batch: CountBatch, limits: LifecycleLimits): number {
  let counted = 0;
  for (const c of batch.contributions) {
    const key = `${c.stream}:${c.partition}`;
    const watermark = record.watermarks[key] ?? -1;
    const fresh = 'offsets' in c ? newOffsets(c.offsets, watermark) : rangeCount(c, watermark);
    if (fresh === 0) continue;
    record.watermarks[key] =
      'offsets' in c ? c.offsets.reduce((a, b) => Math.max(a, b), watermark) : c.lastOffset;
    if (c.stream === 'impressions') record.impressions += fresh;
    else record.interactions += fresh;
    counted += fresh;
  }
  if (counted > 0 && record.users.length < limits.usersKept) {
    const known = new Set(record.users);
    for (const user of batch.users)
      if (!known.has(user) && known.size < limits.usersKept) {
        known.add(user);
        record.users.push(user);
      }
  }
  return counted;
}

/** Distinct offsets above the watermark: a duplicate in a batch is one event read twice. */
const newOffsets = (offsets: readonly number[], watermark: number) =>
  new Set(offsets.filter((offset) => offset > watermark)).size;

/** All or nothing, as ranges were counted: a range says nothing about which of its events are new. */
const rangeCount = (c: RangeContribution, watermark: number) => (c.lastOffset <= watermark ? 0 : c.count);

export const isEnded = (stage: LifecycleStage) => stage === 'retired' || stage === 'blocked';

/** An item that has been shown leaves cold; only an item with a budget was cold to begin with. */
export const startsExploring = (record: LifecycleRecord) => record.stage === 'cold' && record.impressions > 0;

/** Due for the fold-in, unless the last attempt found nobody to fold against and nothing is new. */
export function dueForWarmUp(record: LifecycleRecord, limits: LifecycleLimits): boolean {
  return (
    (record.stage === 'cold' || record.stage === 'exploring') &&
    record.interactions >= limits.warmAfterInteractions &&
    (record.foldInFailedAt === undefined || record.interactions > record.foldInFailedAt)
  );
}

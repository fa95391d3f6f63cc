/**
 * The state an item's lifecycle workflow keeps, and the pure rules that change it. The workflow
 * imports this module, so it stays free of I/O and of anything non-deterministic.
 *
 *   cold       the item has a vector from its content and an exploration budget, no impression yet
 *   exploring  impressions are being served out of the budget; interactions are counted
 *   warm       enough interactions: the item has a collaborative vector, exploration is over
 *   retired / blocked  the item left the index; the workflow has ended
 */
import type { ItemContent } from './content-embedding';

export type LifecycleStage = 'cold' | 'exploring' | 'warm' | 'retired' | 'blocked';
export type CountedStream = 'impressions' | 'interactions';

/** The events of one item on one partition of one stream, between two offsets (inclusive). */
export interface CountContribution {
  stream: CountedStream;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  count: number;
}

/** What the counting consumer signals, at most once per item per interval. */
export interface CountBatch {
  contributions: CountContribution[];
  /** Users who interacted, for the fold-in. */
  users: string[];
}

export interface ItemVector {
  /** release: trained by the retrain; content: the content map; fold-in: from its interactions. */
  source: 'release' | 'content' | 'fold-in';
  version: string;
}

export interface LifecycleRecord {
  itemId: string;
  content: ItemContent;
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

export function newRecord(itemId: string, content: ItemContent): LifecycleRecord {
  return {
    itemId,
    content,
    stage: 'cold',
    impressions: 0,
    interactions: 0,
    users: [],
    watermarks: {},
    budget: 0,
  };
}

/**
 * Adds a batch to the counters. A contribution that ends at or below the partition's watermark
 * was counted already (the consumer resent it after a crash) and is skipped. Returns the events
 * counted.
 */
export function applyCounts(record: LifecycleRecord, batch: CountBatch, limits: LifecycleLimits): number {
  let counted = 0;
  for (const c of batch.contributions) {
    const key = `${c.stream}:${c.partition}`;
    const watermark = record.watermarks[key] ?? -1;
    if (c.lastOffset <= watermark) continue;
    record.watermarks[key] = c.lastOffset;
    if (c.stream === 'impressions') record.impressions += c.count;
    else record.interactions += c.count;
    counted += c.count;
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

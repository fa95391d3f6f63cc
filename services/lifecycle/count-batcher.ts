/**
 * Batching of per-item counts for the lifecycle workflows, so Temporal gets at most one signal
 * per item per interval however many impressions and interactions the item gets. The batcher
 * also says which offsets are safe to commit: below every event that is not yet signalled, so a
 * crash loses no count (the workflow skips the offsets of a resent batch that it counted already).
 */
import type { CountBatch, CountContribution, CountedStream } from './lifecycle-state';

interface PendingContribution {
  stream: CountedStream;
  partition: number;
  offsets: Set<number>;
}

interface PendingCounts {
  contributions: Map<string, PendingContribution>;
  users: Set<string>;
}

export interface DueBatch {
  itemId: string;
  batch: CountBatch;
}

const partitionKey = (stream: CountedStream, partition: number) => `${stream}:${partition}`;

export class CountBatcher {
  private readonly pending = new Map<string, PendingCounts>();
  private readonly lastSent = new Map<string, number>();
  /** `stream:partition` → the offset after the last event seen. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly intervalMs: number) {}

  /** Records that an offset was read, counted or not (an invalid message still moves the commit). */
  observe(stream: CountedStream, partition: number, offset: number): void {
    const key = partitionKey(stream, partition);
    this.seen.set(key, Math.max(this.seen.get(key) ?? 0, offset + 1));
  }

  add(itemId: string, stream: CountedStream, partition: number, offset: number, userId?: string): void {
    this.observe(stream, partition, offset);
    this.merge(itemId, { stream, partition, offsets: [offset] }, userId === undefined ? [] : [userId]);
  }

  /** Takes the batches of the items not signalled within the interval; the rest wait. */
  takeDue(now: number): DueBatch[] {
    for (const [itemId, sent] of this.lastSent)
      if (now - sent >= this.intervalMs) this.lastSent.delete(itemId);
    const due: DueBatch[] = [];
    for (const [itemId, counts] of this.pending) {
      if (this.lastSent.has(itemId)) continue;
      this.pending.delete(itemId);
      this.lastSent.set(itemId, now);
      due.push({
        itemId,
        batch: {
          contributions: [...counts.contributions.values()].map((c) => ({
            stream: c.stream,
            partition: c.partition,
            offsets: [...c.offsets].sort((a, b) => a - b),
          })),
          users: [...counts.users],
        },
      });
    }
    return due;
  }

  /** Puts back a batch whose signal failed; it goes out with the item's next one. */
  requeue({ itemId, batch }: DueBatch): void {
    batch.contributions.forEach((c, n) => {
      if ('offsets' in c) this.merge(itemId, c, n === 0 ? batch.users : []);
    });
  }

  private merge(itemId: string, contribution: CountContribution, users: readonly string[]): void {
    let counts = this.pending.get(itemId);
    if (counts === undefined) {
      counts = { contributions: new Map(), users: new Set() };
      this.pending.set(itemId, counts);
    }
    const key = partitionKey(contribution.stream, contribution.partition);
    let held = counts.contributions.get(key);
    if (held === undefined) {
      held = { stream: contribution.stream, partition: contribution.partition, offsets: new Set() };
      counts.contributions.set(key, held);
    }
    // A set: an event read twice (a batch redelivered after a rebalance) is one event.
    for (const offset of contribution.offsets) held.offsets.add(offset);
    for (const user of users) counts.users.add(user);
  }

  /** `stream:partition` → the next offset to commit: nothing below it is waiting to be signalled. */
  committable(): Map<string, { stream: CountedStream; partition: number; offset: number }> {
    const commits = new Map<string, { stream: CountedStream; partition: number; offset: number }>();
    for (const [key, next] of this.seen) {
      const [stream, partition] = key.split(':') as [CountedStream, string];
      commits.set(key, { stream, partition: Number(partition), offset: next });
    }
    for (const counts of this.pending.values())
      for (const [key, c] of counts.contributions) {
        const commit = commits.get(key);
        if (commit !== undefined)
          for (const offset of c.offsets) commit.offset = Math.min(commit.offset, offset);
      }
    return commits;
  }

  get pendingItems(): number {
    return this.pending.size;
  }
}

/**
 * Exploration budgets: how many impressions an unproven item may still get, shared by every
 * serving replica without ever being exceeded.
 *
 * The item's lifecycle workflow grants the budget by creating the item's key in a JetStream
 * key-value bucket (value: the impressions that remain, a decimal integer) and revokes it by
 * deleting the key. A replica never spends from the bucket directly: it takes a lease of a few
 * impressions by compare-and-set (`update` at the revision it read), so two replicas that read
 * the same remainder cannot both subtract from it, and it spends only what its leases hold. The
 * sum of all leases is therefore at most the grant. What a replica holds when it stops is given
 * back; what it holds when it crashes is lost, which under-spends the budget by at most one lease
 * per replica and never over-spends it. Each replica watches the bucket: it knows which items are
 * exploring (the keys with impressions left, the candidates of its exploration slots), and a revoked budget
 * (the item went warm, was retired or blocked) stops its spending at once.
 */
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { type KV, type KvEntry, Kvm, type KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection, QueuedIterator } from '@nats-io/transport-node';
import { recordExplorationImpression } from '../observability/metrics';

/**
 * Item ids are printable ASCII; keys allow only `[-/_=.A-Za-z0-9]`, and `.` separates tokens.
 * Everything outside `[A-Za-z0-9_-]` is written as `=` and two hex digits, which is reversible.
 */
export function budgetKey(itemId: string): string {
  return itemId.replace(/[^A-Za-z0-9_-]/g, (c) => `=${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function itemOfBudgetKey(key: string): string {
  return key.replace(/=([0-9a-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

export async function openBudgetBucket(nats: NatsConnection, bucket: string): Promise<KV> {
  // One value per key: old remainders are of no use to anyone.
  return new Kvm(nats).create(bucket, { history: 1 });
}

const isCasConflict = (error: unknown) =>
  error instanceof JetStreamApiError &&
  (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
    error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

const remainderOf = (entry: KvEntry | null): number | undefined =>
  entry === null || entry.operation !== 'PUT' ? undefined : Number(entry.string());

/**
 * Grants a budget unless the item already has one: a retried grant must not refill a budget that
 * replicas have been spending.
 */
export async function grantBudget(kv: KV, itemId: string, impressions: number): Promise<void> {
  try {
    await kv.create(budgetKey(itemId), String(impressions));
  } catch (error) {
    if (!isCasConflict(error)) throw error;
  }
}

export async function revokeBudget(kv: KV, itemId: string): Promise<void> {
  await kv.delete(budgetKey(itemId));
}

/** What is left to lease, or undefined when the item has no budget (never granted, or revoked). */
export async function remainingBudget(kv: KV, itemId: string): Promise<number | undefined> {
  return remainderOf(await kv.get(budgetKey(itemId)));
}

export interface ExplorationBudgetOptions {
  /** Impressions taken per lease: larger means fewer CAS round trips, more stranded by a crash. */
  leaseSize: number;
  /** A new lease is fetched when a held one falls to this many impressions. */
  refillBelow: number;
  /** CAS attempts per refill before giving up until the next impression asks again. */
  casAttempts?: number;
}

interface Lease {
  held: number;
  /** No budget left to lease (or none granted); cleared when the watch sees a fresh grant. */
  exhausted: boolean;
  refill?: Promise<void>;
}

export class ExplorationBudget {
  private readonly leases = new Map<string, Lease>();
  /** The bucket as last seen: items with impressions left to lease. */
  private readonly open = new Map<string, number>();
  /** Items with a budget in the bucket, spent or not: serving shows them only through it. */
  private readonly granted = new Set<string>();
  private readonly watching: Promise<void>;

  private constructor(
    private readonly kv: KV,
    private readonly watch: QueuedIterator<KvWatchEntry>,
    private readonly options: ExplorationBudgetOptions,
  ) {
    this.watching = this.follow();
  }

  static async open(
    nats: NatsConnection,
    bucket: string,
    options: ExplorationBudgetOptions,
  ): Promise<ExplorationBudget> {
    const kv = await openBudgetBucket(nats, bucket);
    // Last values first, then every change: the replica starts knowing every exploring item.
    const watch = await kv.watch({ key: '>' });
    return new ExplorationBudget(kv, watch, options);
  }

  /**
   * Spends one impression of the item's budget if this replica holds one. Never waits: when the
   * lease runs low a refill starts in the background, and until it lands the answer is false.
   */
  takeImpression(itemId: string): boolean {
    const lease = this.leaseOf(itemId);
    if (lease.held > 0) {
      lease.held--;
      recordExplorationImpression();
      if (lease.held <= this.options.refillBelow) this.refill(itemId, lease);
      return true;
    }
    this.refill(itemId, lease);
    return false;
  }

  /** Items that may fill an exploration slot: impressions left in the bucket or held here. */
  exploringItems(): string[] {
    const items = new Set(this.open.keys());
    for (const [itemId, lease] of this.leases) if (lease.held > 0) items.add(itemId);
    return [...items];
  }

  budgeted(itemId: string): boolean {
    return this.granted.has(itemId);
  }

  /** Impressions this replica holds for the item now. */
  held(itemId: string): number {
    return this.leases.get(itemId)?.held ?? 0;
  }

  /**
   * Waits for the item's refill in flight, if any, and returns what is held then; serving calls it
   * to warm leases for the exploration candidates it is about to consider.
   */
  async prefetch(itemId: string): Promise<number> {
    const lease = this.leaseOf(itemId);
    this.refill(itemId, lease);
    await lease.refill;
    return lease.held;
  }

  /** Stops watching and gives back every impression still held, so a clean stop strands none. */
  async close(): Promise<void> {
    this.watch.stop();
    await this.watching;
    await Promise.all([...this.leases.values()].map((lease) => lease.refill));
    await Promise.all(
      [...this.leases]
        .filter(([, lease]) => lease.held > 0)
        .map(([itemId, lease]) => this.giveBack(itemId, lease)),
    );
  }

  private leaseOf(itemId: string): Lease {
    let lease = this.leases.get(itemId);
    if (lease === undefined) {
      lease = { held: 0, exhausted: false };
      this.leases.set(itemId, lease);
    }
    return lease;
  }

  private refill(itemId: string, lease: Lease): void {
    if (lease.refill !== undefined || lease.exhausted) return;
    lease.refill = this.lease(itemId, lease)
      .catch(() => undefined)
      .finally(() => {
        lease.refill = undefined;
      });
  }

  private async lease(itemId: string, lease: Lease): Promise<void> {
    const key = budgetKey(itemId);
    for (let attempt = 0; attempt < (this.options.casAttempts ?? 8); attempt++) {
      const entry = await this.kv.get(key);
      const remaining = remainderOf(entry);
      if (entry === null || remaining === undefined || remaining <= 0) {
        lease.exhausted = true;
        return;
      }
      const take = Math.min(this.options.leaseSize, remaining);
      try {
        await this.kv.update(key, String(remaining - take), entry.revision);
      } catch (error) {
        if (isCasConflict(error)) continue;
        throw error;
      }
      // A revocation seen while the update was in flight wins: the lease is dropped, not spent.
      if (!lease.exhausted) lease.held += take;
      return;
    }
  }

  private async giveBack(itemId: string, lease: Lease): Promise<void> {
    const key = budgetKey(itemId);
    for (let attempt = 0; attempt < (this.options.casAttempts ?? 8) && lease.held > 0; attempt++) {
      const entry = await this.kv.get(key);
      const remaining = remainderOf(entry);
      if (entry === null || remaining === undefined) return;
      try {
        await this.kv.update(key, String(remaining + lease.held), entry.revision);
        lease.held = 0;
      } catch (error) {
        if (!isCasConflict(error)) throw error;
      }
    }
  }

  private async follow(): Promise<void> {
    for await (const entry of this.watch) {
      const itemId = itemOfBudgetKey(entry.key);
      const remaining = remainderOf(entry);
      if (remaining !== undefined && remaining > 0) this.open.set(itemId, remaining);
      else this.open.delete(itemId);
      if (remaining === undefined) this.granted.delete(itemId);
      else this.granted.add(itemId);
      const lease = this.leases.get(itemId);
      if (lease === undefined) continue;
      if (remaining === undefined) {
        lease.held = 0;
        lease.exhausted = true;
      } else if (remaining > 0) lease.exhausted = false;
    }
  }
}

/**
 * What serving must know about items and users between releases, kept current from the event
 * log (`cairn.catalog.v1`, `cairn.users.v1`): an item's status, categories, creation time and
 * quality flags, and a user's cohort. A block or retirement takes effect on the next request,
 * not at the next retrain.
 */
import type { CatalogEvent, UserEvent } from '../../schemas/events';
import { ageBand } from '../models/popularity';

export type ItemStatus = 'active' | 'retired' | 'blocked';

export interface CatalogItem {
  status: ItemStatus;
  categories: string[];
  createdAt: number;
  qualityFlags: string[];
}

const dayMs = 86_400_000;

export class LiveCatalog {
  private readonly items = new Map<string, CatalogItem>();
  private readonly cohorts = new Map<string, string>();
  private readonly interests = new Map<string, string[]>();
  /** Items that must not be served: passed to the search query as well as filtered in process. */
  readonly unavailable = new Set<string>();
  /** Times of a replayed catalog are historical, so "fresh" is measured from its newest item. */
  newestCreatedAt = 0;
  private freshCache?: { days: number; ids: string[] };

  apply(event: CatalogEvent): void {
    const known = this.items.get(event.itemId);
    switch (event.type) {
      case 'item_created':
        this.items.set(event.itemId, {
          status: 'active',
          categories: event.categories,
          createdAt: event.occurredAt,
          qualityFlags: event.qualityFlags,
        });
        this.unavailable.delete(event.itemId);
        this.newestCreatedAt = Math.max(this.newestCreatedAt, event.occurredAt);
        this.freshCache = undefined;
        return;
      case 'item_updated':
        if (known === undefined) return;
        if (event.categories !== undefined) known.categories = event.categories;
        if (event.qualityFlags !== undefined) known.qualityFlags = event.qualityFlags;
        return;
      case 'item_retired':
      case 'item_blocked': {
        const status = event.type === 'item_retired' ? 'retired' : 'blocked';
        if (known !== undefined) known.status = status;
        else this.items.set(event.itemId, { status, categories: [], createdAt: 0, qualityFlags: [] });
        this.unavailable.add(event.itemId);
        this.freshCache = undefined;
        return;
      }
    }
  }

  applyUser(event: UserEvent): void {
    if (event.type === 'onboarding_interests') this.interests.set(event.userId, event.categories);
    else this.cohorts.set(event.userId, cohortOf(event.demographics));
  }

  /** The categories the user chose at onboarding, the latest choice. */
  interestsOfUser(userId: string): readonly string[] {
    return this.interests.get(userId) ?? [];
  }

  item(id: string): CatalogItem | undefined {
    return this.items.get(id);
  }

  /** Items the catalog has not announced (a release can be ahead of the feed) count as active. */
  isAvailable(id: string): boolean {
    return !this.unavailable.has(id);
  }

  categoriesOf(id: string): readonly string[] {
    return this.items.get(id)?.categories ?? [];
  }

  cohortOfUser(userId: string): string | undefined {
    return this.cohorts.get(userId);
  }

  isFresh(id: string, days: number): boolean {
    const created = this.items.get(id)?.createdAt;
    return created !== undefined && created > 0 && created >= this.newestCreatedAt - days * dayMs;
  }

  /** Available items created within `days` of the newest, newest first. */
  freshItems(days: number): readonly string[] {
    if (this.freshCache?.days !== days) {
      const since = this.newestCreatedAt - days * dayMs;
      const fresh = [...this.items]
        .filter(([id, item]) => item.createdAt >= since && item.createdAt > 0 && this.isAvailable(id))
        .sort((a, b) => b[1].createdAt - a[1].createdAt)
        .map(([id]) => id);
      this.freshCache = { days, ids: fresh };
    }
    return this.freshCache.ids;
  }

  get size(): number {
    return this.items.size;
  }
}

/** Users without demographics share one cohort: they get the global ranking. */
export function cohortOf(d: { age?: number; gender?: string; occupation?: string }): string {
  return `${d.age === undefined ? '?' : ageBand(d.age)}|${d.gender ?? '?'}|${d.occupation ?? '?'}`;
}

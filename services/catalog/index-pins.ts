/**
 * Pins on versioned item-vector indexes: a replica serving a release that a variant pins keeps
 * that release's index from the pruning each new backfill does. A pin is a lease in the index's
 * mapping metadata (`_meta.pinnedUntil`), renewed while a replica serves from the index, so an
 * index stays pinned no longer than a lease after the last config pinning it stops being served.
 */
import type { Client } from '@elastic/elasticsearch';

/** Long enough that a replica restarted or briefly down keeps its pins; renewed at a quarter. */
export const pinLeaseMs = 24 * 60 * 60 * 1000;
export const pinRenewMs = pinLeaseMs / 4;

interface PinMeta {
  pinnedUntil?: number;
}

/**
 * Pins `index` until `until` (epoch ms), keeping the rest of its metadata. Returns false when
 * the index does not exist (pruned before any replica pinned it).
 */
export async function pinIndex(client: Client, index: string, until: number): Promise<boolean> {
  const mapping = await client.indices.getMapping({ index }, { ignore: [404] });
  const current = mapping[index]?.mappings;
  if (current === undefined) return false;
  const meta = {
    ...current._meta,
    pinnedUntil: Math.max(until, (current._meta as PinMeta)?.pinnedUntil ?? 0),
  };
  await client.indices.putMapping({ index, _meta: meta });
  return true;
}

/** The indexes matching `pattern` whose pin lasts past `now`. */
export async function pinnedIndexes(client: Client, pattern: string, now: number): Promise<Set<string>> {
  const mappings = await client.indices.getMapping({ index: pattern }, { ignore: [404] });
  return new Set(
    Object.entries(mappings)
      .filter(([, m]) => ((m?.mappings?._meta as PinMeta | undefined)?.pinnedUntil ?? 0) > now)
      .map(([name]) => name),
  );
}

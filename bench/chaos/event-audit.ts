/**
 * Events lost and duplicated, counted in the interaction store against the ids that were
 * acknowledged: each acknowledged id must be in the store exactly once. The store keeps a
 * 64-bit fingerprint of each event id, so the ids are compared by their fingerprints.
 */

import { fingerprint } from '../../services/store/fingerprint';
import type { InteractionStore } from '../../services/store/interaction-store';

export interface EventAudit {
  acknowledged: number;
  /** Acknowledged ids the store does not hold. */
  lost: number;
  /** Extra copies of acknowledged ids in the store. */
  duplicated: number;
  /** Interactions in the store that nobody acknowledged (should be 0 too). */
  unexpected: number;
}

export async function auditStore(
  store: InteractionStore,
  acknowledged: ReadonlySet<string>,
): Promise<EventAudit> {
  const copies = new Map<string, number>();
  await store.scanInteractions((record) => {
    const key = `${record.fpHi}:${record.fpLo}`;
    copies.set(key, (copies.get(key) ?? 0) + 1);
  });
  let lost = 0;
  let duplicated = 0;
  for (const id of acknowledged) {
    const { hi, lo } = fingerprint(id);
    const key = `${hi}:${lo}`;
    const count = copies.get(key) ?? 0;
    if (count === 0) lost++;
    else duplicated += count - 1;
    copies.delete(key);
  }
  let unexpected = 0;
  for (const count of copies.values()) unexpected += count;
  return { acknowledged: acknowledged.size, lost, duplicated, unexpected };
}

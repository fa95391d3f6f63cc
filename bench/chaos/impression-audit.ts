/**
 * Impressions lost and duplicated by a serving fault: every slate the caller received must be on
 * the namespace's impressions topic exactly once, read after the replica has drained (its last
 * impressions flushed). Slates the server answered after the caller gave up also have their
 * impression, rightly; they are counted apart.
 */
import type { ScratchSettings } from '../../services/config/scratch-namespace';
import { readToEnd } from '../../services/events/dead-letter-replay';
import { kafkaClient } from '../../services/events/kafka';
import type { EventAudit } from './event-audit';
import type { Sample } from './measures';

export async function auditImpressions(
  settings: ScratchSettings,
  samples: readonly Sample[],
): Promise<{ audit: EventAudit; note: string }> {
  const received = new Set(samples.flatMap((s) => (s.slateId === undefined ? [] : [s.slateId])));
  const copies = new Map<string, number>();
  await readToEnd(
    kafkaClient(settings, 'cairn-chaos-impressions'),
    `${settings.prefix}chaos-impressions`,
    [{ topic: settings.topics.impressions }],
    (message) => {
      const { slateId } = JSON.parse(message.value?.toString() ?? '{}') as { slateId?: string };
      if (slateId !== undefined) copies.set(slateId, (copies.get(slateId) ?? 0) + 1);
    },
  );
  let lost = 0;
  let duplicated = 0;
  for (const slateId of received) {
    const count = copies.get(slateId) ?? 0;
    if (count === 0) lost++;
    else duplicated += count - 1;
    copies.delete(slateId);
  }
  let unreceived = 0;
  for (const count of copies.values()) {
    unreceived++;
    duplicated += count - 1;
  }
  return {
    audit: { acknowledged: received.size, lost, duplicated, unexpected: 0 },
    note: `impressions: ${received.size} slates received by the caller, ${lost} of them with no impression on the topic, ${duplicated} impressions duplicated; ${unreceived} more impressions of slates the caller did not receive (answered after its budget, or the readiness probe's)`,
  };
}

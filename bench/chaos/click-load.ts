/**
 * Clicks produced to the interactions topic at a fixed rate, each with an id of its own. A send
 * that fails is sent again until it is acknowledged (at-least-once, as a real producer does), so
 * the ids acknowledged are exactly what the store must end up holding, once each.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Producer } from 'kafkajs';
import type { Interaction } from '../../schemas/events';
import { fixedRate, type RunningLoad } from './fixed-rate';

export interface ClickLoadOptions {
  topic: string;
  rate: number;
  /** Ids are `${runId}-${n}`. */
  runId: string;
  users: readonly string[];
  items: readonly string[];
  /** A click acknowledged later than this counts as failed (a stall the producer's caller sees). */
  budgetMs: number;
  /** A click not acknowledged after this long is given up (and counted unacknowledged). */
  giveUpMs: number;
}

export interface ClickLoad extends RunningLoad {
  /** The ids the broker acknowledged. */
  readonly acknowledged: Set<string>;
}

export const clickId = (runId: string, n: number) => `${runId}-${n}`;

export function clickLoad(producer: Producer, options: ClickLoadOptions): ClickLoad {
  const acknowledged = new Set<string>();
  const load = fixedRate(options.rate, async (n, due) => {
    const click: Interaction = {
      eventId: clickId(options.runId, n),
      type: 'click',
      userId: options.users[n % options.users.length],
      itemId: options.items[n % options.items.length],
      occurredAt: Date.now(),
      surface: 'homepage',
    };
    const message = { key: click.userId, value: JSON.stringify(click) };
    for (let attempt = 0; ; attempt++) {
      try {
        await producer.send({ topic: options.topic, acks: -1, messages: [message] });
        acknowledged.add(click.eventId);
        const latencyMs = performance.now() - due;
        const late = attempt > 0 || latencyMs > options.budgetMs;
        return { sentAt: due, latencyMs, outcome: late ? 'failed' : 'ok' };
      } catch {
        if (performance.now() - due > options.giveUpMs)
          return { sentAt: due, latencyMs: performance.now() - due, outcome: 'failed' };
        await sleep(250);
      }
    }
  });
  return { ...load, acknowledged };
}

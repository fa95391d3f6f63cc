/**
 * Clicks produced to the interactions topic at a fixed rate, each with an id of its own. Clicks
 * due while a send is in flight go together in the next send, as a producer's linger batches
 * them. A send that fails is sent again until it is acknowledged (at-least-once, as a real
 * producer does), so the ids acknowledged are exactly what the store must end up holding, once
 * each.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Producer } from 'kafkajs';
import type { Interaction } from '../../schemas/events';
import { fixedRate, type RunningLoad } from './fixed-rate';
import type { Sample } from './measures';

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

interface Queued {
  click: Interaction;
  due: number;
  done: (sample: Sample) => void;
}

export function clickLoad(producer: Producer, options: ClickLoadOptions): ClickLoad {
  const acknowledged = new Set<string>();
  const queue: Queued[] = [];
  let sending = false;
  const pump = async () => {
    sending = true;
    while (queue.length > 0) {
      const batch = queue.splice(0, queue.length);
      const messages = batch.map(({ click }) => ({ key: click.userId, value: JSON.stringify(click) }));
      for (let attempt = 0; ; attempt++) {
        try {
          await producer.send({ topic: options.topic, acks: -1, messages });
          const now = performance.now();
          for (const { click, due, done } of batch) {
            acknowledged.add(click.eventId);
            const reason = attempt > 0 ? 'retried' : now - due > options.budgetMs ? 'late' : undefined;
            done({
              sentAt: due,
              latencyMs: now - due,
              outcome: reason === undefined ? 'ok' : 'failed',
              reason,
            });
          }
          break;
        } catch {
          const now = performance.now();
          if (now - batch[0].due > options.giveUpMs) {
            for (const { due, done } of batch)
              done({ sentAt: due, latencyMs: now - due, outcome: 'failed', reason: 'unacknowledged' });
            break;
          }
          await sleep(250);
        }
      }
    }
    sending = false;
  };
  const load = fixedRate(
    options.rate,
    (n, due) =>
      new Promise<Sample>((done) => {
        const click: Interaction = {
          eventId: clickId(options.runId, n),
          type: 'click',
          userId: options.users[n % options.users.length],
          itemId: options.items[n % options.items.length],
          occurredAt: Date.now(),
          surface: 'homepage',
        };
        queue.push({ click, due, done });
        if (!sending) void pump();
      }),
  );
  return { ...load, acknowledged };
}

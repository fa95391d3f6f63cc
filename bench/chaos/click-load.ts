/**
 * Clicks produced to the interactions topic at a fixed rate, each with an id of its own. Clicks
 * due while a send is in flight go together in the next send, as a producer's linger batches
 * them. A send that fails is sent again until it is acknowledged (at-least-once, as a real
 * producer does), so the ids acknowledged are exactly what the store must end up holding, once
 * each.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Producer } from 'kafkajs';
import type { Interaction } from '../../schemas/events';
import { syntheticItems, syntheticUsers } from '../../services/data/synthetic';
import type { TopicSet } from '../../services/events/topics';
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

const entities = { seed: 3, itemCount: 50, userCount: 20 };

export interface ClickEntities {
  users: string[];
  items: string[];
}

/** The users and items the clicks are about, on the log first so that the store accepts the clicks. */
export async function publishClickEntities(producer: Producer, topics: TopicSet): Promise<ClickEntities> {
  const users = [...syntheticUsers(entities)];
  const items = [...syntheticItems(entities)];
  await producer.send({
    topic: topics.users,
    acks: -1,
    messages: users.map((e) => ({ key: e.userId, value: JSON.stringify(e) })),
  });
  await producer.send({
    topic: topics.catalog,
    acks: -1,
    messages: items.map((e) => ({ key: e.itemId, value: JSON.stringify(e) })),
  });
  return { users: users.map((u) => u.userId), items: items.map((i) => i.itemId) };
}

/** A click is late after 2 s: the producer's caller would notice that stall. */
export const clickBudgetMs = 2_000;

/** Clicks about the published entities at `rate`, with fresh ids. */
export function clicksAbout(
  producer: Producer,
  topics: TopicSet,
  rate: number,
  about: ClickEntities,
): ClickLoad {
  return clickLoad(producer, {
    topic: topics.interactions,
    rate,
    runId: randomUUID(),
    ...about,
    budgetMs: clickBudgetMs,
    giveUpMs: 180_000,
  });
}

/** The synthetic generator's events on a namespace's topics, sent as the producers send them. */
import type { Kafka } from 'kafkajs';
import {
  type SyntheticConfigInput,
  syntheticInteractions,
  syntheticItems,
  syntheticUsers,
} from '../../services/data/synthetic';
import { eventProducer } from '../../services/events/kafka';

/** An event with its message key: the entity whose partition keeps its events in order. */
export interface KeyedEvent {
  key: string;
  event: object;
}

export function syntheticLogEvents(data: SyntheticConfigInput): {
  users: KeyedEvent[];
  items: KeyedEvent[];
  interactions: KeyedEvent[];
} {
  return {
    users: [...syntheticUsers(data)].map((event) => ({ key: event.userId, event })),
    items: [...syntheticItems(data)].map((event) => ({ key: event.itemId, event })),
    interactions: [...syntheticInteractions(data)].map((event) => ({ key: event.userId, event })),
  };
}

export async function produceEvents(
  kafka: Kafka,
  topic: string,
  events: readonly KeyedEvent[],
): Promise<void> {
  const producer = eventProducer(kafka);
  await producer.connect();
  try {
    for (let at = 0; at < events.length; at += 500)
      await producer.send({
        topic,
        acks: -1,
        messages: events.slice(at, at + 500).map((e) => ({ key: e.key, value: JSON.stringify(e.event) })),
      });
  } finally {
    await producer.disconnect();
  }
}

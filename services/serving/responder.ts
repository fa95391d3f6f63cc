/**
 * The NATS side of serving: a queue-group subscription on `cairn.recommend.v1`, so any number of
 * `cairn serve` processes share the load. Every request gets a reply: bad input gets
 * `{ ok: false, error }` with the reason, never silence and never a crashed server.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { type RecommendResponse, recommendRequestSchema } from '../../schemas/recommend';
import type { Recommender } from './recommender';

export const servingQueue = 'cairn-serving';

export function answerRecommendations(
  nc: NatsConnection,
  subject: string,
  recommender: Recommender,
): Subscription {
  return nc.subscribe(subject, {
    queue: servingQueue,
    callback: (error, message) => {
      if (error !== null) return;
      void respond(message.data, recommender).then((reply) => message.respond(JSON.stringify(reply)));
    },
  });
}

async function respond(data: Uint8Array, recommender: Recommender): Promise<RecommendResponse> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(data));
  } catch (error) {
    return { ok: false, error: `invalid JSON: ${(error as Error).message}` };
  }
  const parsed = recommendRequestSchema.safeParse(json);
  if (!parsed.success)
    return {
      ok: false,
      error: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
    };
  try {
    return await recommender.recommend(parsed.data);
  } catch (error) {
    return { ok: false, error: `internal error: ${(error as Error).message}` };
  }
}

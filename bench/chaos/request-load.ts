/** Recommend requests over NATS at a fixed rate, each recorded as ok, degraded or failed. */
import type { NatsConnection } from '@nats-io/transport-node';
import type { RecommendResponse } from '../../schemas/recommend';
import { syntheticUserId } from '../../services/data/synthetic';
import { fixedRate, type RunningLoad } from './fixed-rate';

export interface RequestLoadOptions {
  subject: string;
  rate: number;
  /** A request not answered within this is a failure (the caller's budget). */
  timeoutMs: number;
  /** Requests go to users su0..su(users-1), round robin. */
  users: number;
}

export function requestLoad(nc: NatsConnection, options: RequestLoadOptions): RunningLoad {
  return fixedRate(options.rate, async (n, due) => {
    const body = JSON.stringify({ userId: syntheticUserId(n % options.users), k: 10 });
    try {
      const reply = await nc.request(options.subject, body, { timeout: options.timeoutMs });
      const answer = JSON.parse(reply.string()) as RecommendResponse;
      const latencyMs = performance.now() - due;
      if (!answer.ok) return { sentAt: due, latencyMs, outcome: 'failed', reason: answer.error.code };
      const { slateId } = answer;
      if (!answer.degraded) return { sentAt: due, latencyMs, outcome: 'ok', slateId };
      // The reason's kind, without the addresses and figures that would split it into many.
      const reason = (answer.degradedReasons[0] ?? 'unknown')
        .split(/[:(]/)[0]
        .replace(/[0-9]+/g, 'N')
        .trim();
      return { sentAt: due, latencyMs, outcome: 'degraded', reason, slateId };
    } catch (error) {
      // No responder, a time-out or a closed connection: the caller got no slate.
      const reason = (error as { code?: string }).code ?? (error as Error).message;
      return { sentAt: due, latencyMs: performance.now() - due, outcome: 'failed', reason: `nats ${reason}` };
    }
  });
}

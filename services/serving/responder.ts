/**
 * The NATS side of serving: a queue-group subscription on `cairn.recommend.v1`, so any number
 * of replicas share the load. Every request gets a reply at once: bad input gets
 * `{ ok: false, error: { code, message } }`, a full replica `overloaded`, never silence. Served
 * slates are handed to the impression log, off the request path.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Impression } from '../../schemas/events';
import type {
  RecommendError,
  RecommendRequest,
  RecommendResponse,
  RecommendSlate,
} from '../../schemas/recommend';
import { recommendInFlight, recordRefusal, recordSlate } from '../observability/metrics';
import type { HotState } from './hot-state';
import type { ImpressionLog } from './impression-log';
import { type PipelineDeps, runPipeline } from './pipeline';
import { rehearsalRequests, rehearse } from './rehearsal';
import { parseRequest } from './request';

export const servingQueue = 'cairn-serving';

export interface ServingCounters {
  requests: number;
  served: number;
  refused: number;
  degraded: number;
  overloaded: number;
  internalErrors: number;
  subscriptionErrors: number;
}

export interface ResponderDeps extends PipelineDeps {
  /** The state the request's variant is served from. */
  state(request: RecommendRequest): HotState | undefined;
  impressions?: ImpressionLog;
  maxInFlight: number;
  log: (line: string) => void;
}

export class Responder {
  inFlight = 0;
  readonly counters: ServingCounters = {
    requests: 0,
    served: 0,
    refused: 0,
    degraded: 0,
    overloaded: 0,
    internalErrors: 0,
    subscriptionErrors: 0,
  };
  lastSubscriptionError?: string;
  private idle?: () => void;

  constructor(private readonly deps: ResponderDeps) {}

  subscribe(nc: NatsConnection, subject: string): Subscription {
    return nc.subscribe(subject, {
      queue: servingQueue,
      callback: (error: Error | null, message: Msg) => {
        if (error !== null) {
          // The subscription is closed after this (permissions, connection): the owner sees it
          // through `closed` and restarts; the count and the line say why.
          this.counters.subscriptionErrors++;
          this.lastSubscriptionError = error.message;
          this.deps.log(`serving subscription on ${subject}: ${error.message}`);
          return;
        }
        this.inFlight++;
        recommendInFlight.inc();
        void this.answer(message.data)
          .then((reply) => message.respond(JSON.stringify(reply)))
          .catch((failure: unknown) => this.deps.log(`serving: reply failed: ${(failure as Error).message}`))
          .finally(() => {
            this.inFlight--;
            recommendInFlight.dec();
            if (this.inFlight === 0) this.idle?.();
          });
      },
    });
  }

  /** Runs a newly loaded state through the pipeline before it takes traffic (services/serving/rehearsal). */
  async rehearse(state: HotState): Promise<{ runs: number; of: number }> {
    const requests = rehearsalRequests(state, [...this.deps.variants.keys()]);
    return { runs: await rehearse(state, this.deps, requests), of: requests.length };
  }

  /** Resolves once no request is being answered. */
  settled(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle = resolve;
    });
  }

  async answer(body: Uint8Array): Promise<RecommendResponse> {
    const started = performance.now();
    this.counters.requests++;
    if (this.inFlight > this.deps.maxInFlight) {
      this.counters.overloaded++;
      return refuse('overloaded', `more than ${this.deps.maxInFlight} requests in flight: retry`);
    }
    const parsed = parseRequest(body);
    if (!parsed.ok) {
      this.counters.refused++;
      return refused(parsed);
    }
    const { surface } = parsed.request;
    const state = this.deps.state(parsed.request);
    if (state === undefined) {
      this.counters.refused++;
      return refuse('no_model', 'no model has been promoted yet: run cairn retrain', surface);
    }
    try {
      const result = await runPipeline(parsed.request, state, this.deps, started);
      if (!result.ok) {
        this.counters.refused++;
        return refused(result, surface);
      }
      this.counters.served++;
      if (result.slate.degraded) this.counters.degraded++;
      recordSlate(result.slate);
      // An empty slate showed nothing: there is no impression to log.
      if (result.slate.items.length > 0) this.deps.impressions?.record(impressionOf(result.slate));
      return result.slate;
    } catch (error) {
      this.counters.internalErrors++;
      this.deps.log(`serving: internal error: ${(error as Error).stack}`);
      return refuse('internal', `internal error: ${(error as Error).message}`, surface);
    }
  }
}

/** Every refusal goes out through here, so the metrics count each one under its code. */
function refused(reply: { ok: false; error: RecommendError }, surface?: string): RecommendResponse {
  recordRefusal(reply.error.code, surface);
  return reply;
}

const refuse = (
  code: 'overloaded' | 'no_model' | 'internal',
  message: string,
  surface?: string,
): RecommendResponse => refused({ ok: false, error: { code, message } }, surface);

function impressionOf(slate: RecommendSlate): Impression {
  return {
    slateId: slate.slateId,
    userId: slate.userId,
    surface: slate.surface,
    servedAt: Date.now(),
    variant: slate.variant,
    modelVersions: slate.modelVersions,
    items: slate.items.map((i) => ({
      itemId: i.itemId,
      position: i.rank - 1,
      score: i.score,
      propensity: i.propensity,
    })),
  };
}

/**
 * The serving activity: one long lifetime of a serving replica. It answers NATS requests
 * itself (Temporal is never on the request path), heartbeats its counters, and ends on
 * cancellation (worker shutdown) after draining, returning the lifetime's counters. A replica
 * that can no longer serve fails the attempt, and Temporal starts a new one.
 */
import type { Client } from '@elastic/elasticsearch';
import type { NatsConnection } from '@nats-io/transport-node';
import { ApplicationFailure, CancelledFailure, Context, heartbeat } from '@temporalio/activity';
import type { Kafka } from 'kafkajs';
import { withDeadline } from '../services/concurrency/deadline';
import type { TopicSet } from '../services/events/topics';
import type { SessionLookup } from '../services/realtime/session-store';
import type { ModelRegistry } from '../services/registry/model-registry';
import type { ExplorationSlots } from '../services/serving/post/budgeted-exploration';
import { type ReplicaCounters, ServingReplica } from '../services/serving/replica';
import { parseServingConfig, ServingConfigError } from '../services/serving/serving-config';

export interface ServingActivityDeps {
  nc: NatsConnection;
  search: Client;
  kafka: Kafka;
  registry: ModelRegistry;
  subject: string;
  topics: TopicSet;
  itemsAlias: string;
  prefix: string;
  /** Owned by the process, not a lifetime: they outlive a replica restarted by Temporal. */
  sessions?: SessionLookup;
  budget?: ExplorationSlots;
}

export interface ServingLifetime extends ReplicaCounters {
  startedAt: string;
  endedAt: string;
  attempt: number;
}

const heartbeatEveryMs = 2_000;
/** In-flight requests end within their deadline; this bounds the rest (impressions, the feed). */
const drainMs = 30_000;

export function createServingActivities(deps: ServingActivityDeps) {
  return {
    async serveRecommendations(input: { config: unknown }): Promise<ServingLifetime> {
      let config: ReturnType<typeof parseServingConfig>;
      try {
        config = parseServingConfig(input.config);
      } catch (error) {
        if (error instanceof ServingConfigError)
          throw ApplicationFailure.nonRetryable(error.message, 'ServingConfigError');
        throw error;
      }
      const context = Context.current();
      const startedAt = new Date().toISOString();
      // Reading the catalog from the log can take longer than the heartbeat time-out on a large one.
      const starting = setInterval(() => heartbeat({ starting: true }), heartbeatEveryMs);
      const replica = await ServingReplica.start({
        ...deps,
        config,
        log: (line) => context.log.info(line),
      }).finally(() => clearInterval(starting));
      heartbeat(replica.counters());
      let beat: NodeJS.Timeout | undefined;
      const failed = new Promise<Error>((resolve) => {
        beat = setInterval(() => {
          heartbeat(replica.counters());
          const failure = replica.failure();
          if (failure !== undefined) resolve(failure);
        }, heartbeatEveryMs);
      });
      let ended: unknown;
      try {
        ended = await Promise.race([failed, context.cancelled.catch((reason: unknown) => reason)]);
      } finally {
        clearInterval(beat);
      }
      // A lifetime that ends for any reason leaves the queue group and frees its worker's slot,
      // so the next attempt (a heartbeat time-out starts one at once) is the only replica here.
      const drained = withDeadline(
        replica.drain(),
        drainMs,
        `the replica did not drain within ${drainMs / 1000} s`,
      );
      if (!(ended instanceof CancelledFailure)) {
        await drained.catch((error: unknown) => context.log.warn((error as Error).message));
        throw ended;
      }
      const counters = await drained;
      return { ...counters, startedAt, endedAt: new Date().toISOString(), attempt: context.info.attempt };
    },
  };
}

export type ServingActivities = ReturnType<typeof createServingActivities>;

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
/** How long a replica whose lifetime Temporal ended keeps answering while its successor starts. */
const handOverMs = 120_000;

const drainWithin = (replica: ServingReplica) =>
  withDeadline(replica.drain(), drainMs, `the replica did not drain within ${drainMs / 1000} s`);

export function createServingActivities(deps: ServingActivityDeps) {
  /**
   * A replica whose lifetime the server ended while this process is healthy (a missed heartbeat,
   * a Temporal server restart): it keeps answering until the next lifetime listens, so callers
   * see no gap while that one reads the catalog and loads the release.
   */
  let outgoing: { replica: ServingReplica; expiry: NodeJS.Timeout } | undefined;
  const retireOutgoing = async (log: (line: string) => void) => {
    const leaving = outgoing;
    outgoing = undefined;
    if (leaving === undefined) return;
    clearTimeout(leaving.expiry);
    await drainWithin(leaving.replica).catch((error: unknown) => log((error as Error).message));
  };
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
      const warn = (line: string) => context.log.warn(line);
      const startedAt = new Date().toISOString();
      // Reading the catalog from the log can take longer than the heartbeat time-out on a large one.
      const starting = setInterval(() => heartbeat({ starting: true }), heartbeatEveryMs);
      const replica = await ServingReplica.start({
        ...deps,
        config,
        log: (line) => context.log.info(line),
      }).finally(() => clearInterval(starting));
      await retireOutgoing(warn);
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
      const lifetime = (counters: ReplicaCounters): ServingLifetime => ({
        ...counters,
        startedAt,
        endedAt: new Date().toISOString(),
        attempt: context.info.attempt,
      });
      if (!(ended instanceof CancelledFailure)) {
        await drainWithin(replica).catch((error: unknown) => warn((error as Error).message));
        throw ended;
      }
      // The server gave this lifetime up (a missed heartbeat, a restart lost it): the process is
      // fine and the next lifetime starts here, so the replica serves on until it listens.
      const details = context.cancellationDetails;
      const lostByServer =
        details?.timedOut === true ||
        details?.notFound === true ||
        ended.message === 'TIMED_OUT' ||
        ended.message === 'NOT_FOUND';
      if (lostByServer) {
        // Returning frees this lifetime's worker slot for the next one.
        await retireOutgoing(warn);
        outgoing = {
          replica,
          expiry: setTimeout(() => void retireOutgoing(warn), handOverMs).unref(),
        };
        return lifetime(replica.counters());
      }
      await retireOutgoing(warn);
      return lifetime(await drainWithin(replica));
    },
  };
}

export type ServingActivities = ReturnType<typeof createServingActivities>;

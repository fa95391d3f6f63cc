/**
 * Everything Temporal needs to know about Cairn in one place: namespace, task queues,
 * workflow ids, schedules and retry policies. Workers, clients and the CLI read it; nothing
 * else hard-codes these names.
 */
import type { RetryPolicy } from '@temporalio/common';

/**
 * Types of the permanent failures activities report: the same input would fail the same way, so
 * a retry only delays the report. Activities throw them as non-retryable `ApplicationFailure`s;
 * the retry policy also lists them for errors thrown by class name.
 */
const failureTypes = {
  /** A dataset file with invalid rows (thrown by class name from the data loader). */
  dataset: 'DatasetError',
  /** The interaction store has nothing to train on: never consumed into, or empty. */
  emptyStore: 'EmptyStoreError',
  trainingConfig: 'TrainingConfigError',
  /** Training code threw on a frozen snapshot: deterministic, so it would throw again. */
  training: 'TrainingError',
} as const;

export type PermanentFailureType = (typeof failureTypes)[keyof typeof failureTypes];

export const temporalConfig = {
  /** Overridden by TEMPORAL_NAMESPACE (read in services/config, since workflows cannot see env). */
  namespace: 'default',
  taskQueues: {
    /** Ingestion, backfills, retraining orchestration: I/O-bound activities. */
    pipeline: 'cairn-pipeline',
    /** One per serving replica (suffixed with its name): a replica hosts its own serving activity. */
    serving: 'cairn-serving',
    /** iALS shard solves of fanned-out training: CPU-bound, one at a time per training worker. */
    training: 'cairn-training',
  },
  workflowIds: {
    ingestMovielens: 'cairn-ingest-movielens',
    retrain: 'cairn-retrain',
    /** Suffixed with the replica's name. */
    serving: 'cairn-serving',
  },
  backfill: {
    batchSize: 5_000,
    /** About 100k documents per run keeps each run's history to a few hundred events. */
    batchesPerRun: 20,
    keepVersions: 2,
    recallSampleQueries: 50,
    /**
     * The retrain's backfill merges each new index into one segment before checking it: serving
     * then searches one HNSW graph instead of dozens (the unmerged 1M index missed the serving
     * target), at the price of the merge in the daily run (18 min for 1M 64-d items, m 32, 2 cores).
     */
    mergeSegments: true,
  },
  schedules: {
    dailyRetrain: {
      scheduleId: 'cairn-daily-retrain',
      /** 03:17 UTC: after the day's events have landed, off the hour to avoid thundering herds. */
      cronExpressions: ['17 3 * * *'],
    },
  },
  failureTypes,
  lifecycle: {
    /** Item lifecycle workflow ids are this plus the item id (after CAIRN_PREFIX). */
    workflowIdPrefix: 'cairn-item-',
    /** Impressions an unproven item may get before it has earned its place. */
    explorationBudget: 500,
    warmAfterInteractions: 100,
    /** The counting consumer signals an item at most once per interval: Temporal is not flooded. */
    signalIntervalMs: 3_000,
    /** Impressions a serving replica leases at a time, and the level that triggers the next lease. */
    leaseImpressions: 10,
    refillBelow: 2,
    /** Fold-in positives kept per item; more users than this add little to one row solve. */
    usersKept: 1_000,
    /** A long life continues as new before its history grows past this many events. */
    eventsPerRun: 2_000,
  },
  retry: {
    /** Transient server errors (Kafka leader moves, ES 429s) clear within seconds. */
    io: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '30s',
      maximumAttempts: 10,
      nonRetryableErrorTypes: Object.values(failureTypes),
    } satisfies RetryPolicy,
    /** A serving replica is restarted for as long as it is wanted, quickly. */
    serving: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '10s',
      nonRetryableErrorTypes: ['ServingConfigError'],
    } satisfies RetryPolicy,
  },
  worker: {
    /**
     * On shutdown, in-flight activities get this long to finish; then they are cancelled, which
     * terminates training threads, and a retry resumes the work on another worker.
     */
    shutdownGraceTime: '10 seconds',
    /** An activity that ignores cancellation must not keep a stopping worker forever. */
    shutdownForceTime: '1 minute',
    /**
     * Cancellation reaches an activity only in the reply to a heartbeat, which the SDK otherwise
     * holds back for 80% of the heartbeat time-out: a short throttle delivers it promptly.
     */
    maxHeartbeatThrottleInterval: '3 seconds',
  },
  timeouts: {
    ioActivity: '10 minutes',
    /** Training a day of a large catalog takes a while; heartbeats catch a dead worker sooner. */
    training: '2 hours',
    /** Merging a large vector index into one segment takes many minutes; heartbeats bound a dead worker. */
    indexMerge: '2 hours',
    heartbeat: '30 seconds',
    /** A serving replica that stops heartbeating for this long is restarted. */
    servingHeartbeat: '10 seconds',
    /** A serving lifetime ends at shutdown; this only bounds one that is never shut down. */
    servingLifetime: '3650 days',
  },
} as const;

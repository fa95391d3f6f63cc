/**
 * Everything Temporal needs to know about Cairn in one place: namespace, task queues,
 * workflow ids, schedules and retry policies. Workers, clients and the CLI read it; nothing
 * else hard-codes these names.
 */
import type { RetryPolicy } from '@temporalio/common';

export const temporalConfig = {
  /** Overridden by TEMPORAL_NAMESPACE (read in services/config, since workflows cannot see env). */
  namespace: 'default',
  taskQueues: {
    /** Ingestion, backfills, retraining orchestration: I/O-bound activities. */
    pipeline: 'cairn-pipeline',
  },
  workflowIds: {
    ingestMovielens: 'cairn-ingest-movielens',
    retrain: 'cairn-retrain',
  },
  backfill: {
    batchSize: 5_000,
    /** About 100k documents per run keeps each run's history to a few hundred events. */
    batchesPerRun: 20,
    keepVersions: 2,
    recallSampleQueries: 50,
  },
  schedules: {
    dailyRetrain: {
      scheduleId: 'cairn-daily-retrain',
      /** 03:17 UTC: after the day's events have landed, off the hour to avoid thundering herds. */
      cronExpressions: ['17 3 * * *'],
    },
  },
  retry: {
    /** Transient server errors (Kafka leader moves, ES 429s) clear within seconds. */
    io: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '30s',
      maximumAttempts: 10,
      nonRetryableErrorTypes: ['InvalidInputError', 'TrainingConfigError', 'DatasetError'],
    } satisfies RetryPolicy,
  },
  timeouts: {
    ioActivity: '10 minutes',
    /** Training a day of a large catalog takes a while; heartbeats catch a dead worker sooner. */
    training: '2 hours',
    heartbeat: '30 seconds',
  },
} as const;

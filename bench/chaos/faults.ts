/** The faults `cairn chaos` runs, in priority order, and what passing means for each. */
import { consumerCommitDefaults, consumerCommitFault } from './consumer-commit';
import type { FaultReport } from './fault-report';
import { kafkaClicksDefaults, kafkaClicksFault } from './kafka-clicks';
import {
  elasticsearchFrozen,
  elasticsearchKilled,
  natsRestarted,
  servingFaultDefaults,
  temporalRestarted,
} from './serving-faults';
import { lifecycleKillDefaults, workerKilledMidLifecycle, workerKilledMidRetrain } from './worker-kill';

export interface Fault {
  name: string;
  what: string;
  run(log: (line: string) => void): Promise<FaultReport>;
}

export const faults: Fault[] = [
  {
    name: 'kafka-clicks',
    what: 'a private Kafka broker SIGKILLed and restarted while clicks are produced and consumed',
    run: (log) => kafkaClicksFault({ ...kafkaClicksDefaults, log }),
  },
  {
    name: 'es-killed',
    what: "cairn serve's private Elasticsearch SIGKILLed for 10 s, then restarted",
    run: (log) => elasticsearchKilled({ ...servingFaultDefaults, log }),
  },
  {
    name: 'es-frozen',
    what: "cairn serve's private Elasticsearch frozen (SIGSTOP) for 10 s",
    run: (log) => elasticsearchFrozen({ ...servingFaultDefaults, log }),
  },
  {
    name: 'nats-restart',
    what: "cairn serve's private NATS server SIGKILLed and restarted after 2 s",
    run: (log) => natsRestarted({ ...servingFaultDefaults, downMs: 2_000, log }),
  },
  {
    name: 'temporal-restart',
    what: "cairn serve's private Temporal server SIGKILLed and restarted after 5 s",
    run: (log) => temporalRestarted({ ...servingFaultDefaults, downMs: 5_000, log }),
  },
  {
    name: 'consumer-commit',
    what: 'cairn consume SIGKILLed between the store checkpoint and the consumer group commit',
    run: (log) => consumerCommitFault({ ...consumerCommitDefaults, log }),
  },
  {
    name: 'worker-train',
    what: 'cairn worker SIGKILLed while a retrain trains, a new one started at once',
    run: (log) => workerKilledMidRetrain('train', log),
  },
  {
    name: 'worker-backfill',
    what: "cairn worker SIGKILLed while a retrain's backfill writes or checks its index, a new one started",
    run: (log) => workerKilledMidRetrain('backfill', log),
  },
  {
    name: 'worker-lifecycle',
    what: "cairn worker SIGKILLed under item lifecycles' count signals, a new one started, signals redelivered",
    run: (log) => workerKilledMidLifecycle({ ...lifecycleKillDefaults, log }),
  },
];

/**
 * Nothing lost, nothing counted twice, and, under a load, every request of the "after" phase
 * answered in time.
 */
export function passed(report: FaultReport): boolean {
  const events = report.events;
  const exact = events === undefined || events.lost + events.duplicated + events.unexpected === 0;
  return exact && (!report.loaded || (report.after.sent > 0 && report.after.failed === 0));
}

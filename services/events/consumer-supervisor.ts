/**
 * Keeps a kafkajs consumer running across broker restarts. kafkajs restarts a crashed consumer
 * by itself only after a retriable error, and then resumes from the group's committed offsets; a
 * non-retriable crash (a broker restart gives "The coordinator is not aware of this member")
 * leaves it stopped for good while the process carries on as if it were consuming. Here kafkajs
 * never restarts anything: every crash is followed, after a backoff, by a fresh consumer that
 * its owner sets up again (subscribe, run, seek to where its own state says), until stop().
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Consumer, type ConsumerConfig, type Kafka, KafkaJSError } from 'kafkajs';
import { log } from '../observability/log';

export interface SupervisedConsumerOptions {
  kafka: Kafka;
  /** Names the consumer in the crash and restart lines. */
  name: string;
  config: ConsumerConfig;
  /** Connects, subscribes and runs a new consumer (and seeks where its owner resumes from). */
  begin(consumer: Consumer): Promise<void>;
}

/** Restarts back off from half a second to 15 s: a broker restart takes seconds, not minutes. */
const backoffMs = { initial: 500, max: 15_000 };
const backoffFor = (attempt: number) => Math.min(backoffMs.max, backoffMs.initial * 2 ** attempt);
const firstLaunchRetryMs = 60_000;

export class SupervisedConsumer {
  private consumer?: Consumer;
  private restarting?: Promise<void>;
  private readonly stopped = new AbortController();

  constructor(private readonly options: SupervisedConsumerOptions) {}

  /**
   * Starts the first consumer. A Kafka error (a first join that crashes because the coordinator
   * of a busy or restarting broker is not ready yet) is retried with the restarts' backoff for up
   * to a minute; any other error, or a Kafka error that lasts longer, is the caller's.
   */
  async start(): Promise<void> {
    const deadline = Date.now() + firstLaunchRetryMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.launch();
        return;
      } catch (error) {
        const wait = backoffFor(attempt);
        if (!(error instanceof KafkaJSError) || this.stopped.signal.aborted || Date.now() + wait > deadline)
          throw error;
        log.warn(
          { err: error, consumer: this.options.name, retryInMs: wait },
          'consumer start failed; trying again',
        );
        // stop() during the wait ends the start with the launch's error, starting nothing more.
        await sleep(wait, undefined, { signal: this.stopped.signal }).catch(() => undefined);
        if (this.stopped.signal.aborted) throw error;
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped.abort();
    await this.restarting;
    await this.consumer?.disconnect();
  }

  private async launch(): Promise<void> {
    const consumer = this.options.kafka.consumer({
      ...this.options.config,
      retry: { ...this.options.config.retry, restartOnFailure: async () => false },
    });
    // A crash while starting (a failed join crashes inside run() itself, and run() then returns)
    // fails this launch; a crash after it starts the next one.
    let started = false;
    let crashedWhileStarting: Error | undefined;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!started) crashedWhileStarting = payload.error;
      else if (this.consumer === consumer && !this.stopped.signal.aborted)
        this.restarting = this.restart(payload.error);
    });
    try {
      await this.options.begin(consumer);
      started = true;
      if (crashedWhileStarting !== undefined) throw crashedWhileStarting;
    } catch (error) {
      // The launch's own error is the one to report; a failed disconnect adds nothing to it.
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
    if (this.stopped.signal.aborted) await consumer.disconnect();
    else this.consumer = consumer;
  }

  private async restart(cause: Error): Promise<void> {
    const { name: consumer } = this.options;
    log.error({ err: cause, consumer }, 'consumer crashed; starting a new one');
    for (let attempt = 0; !this.stopped.signal.aborted; attempt++) {
      const wait = backoffFor(attempt);
      try {
        await sleep(wait, undefined, { signal: this.stopped.signal });
      } catch {
        return; // stopped while waiting
      }
      try {
        await this.launch();
        log.info({ consumer }, 'consumer restarted');
        return;
      } catch (error) {
        log.warn({ err: error, consumer }, 'consumer restart failed; trying again');
      }
    }
  }
}

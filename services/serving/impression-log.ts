/**
 * Every served slate as an impression on `cairn.impressions.v1`, off the request path: a
 * request only appends to a buffer; a timer (or a full buffer) sends batches to Kafka, and
 * `close()` sends what is left, so a clean shutdown loses none. A failed send keeps its batch
 * for the next attempt.
 */
import type { Producer } from 'kafkajs';
import type { Impression } from '../../schemas/events';

export class ImpressionLog {
  private buffer: Impression[] = [];
  private sending?: Promise<void>;
  private readonly timer: NodeJS.Timeout;
  sent = 0;
  failures = 0;
  lastError?: string;

  constructor(
    private readonly producer: Pick<Producer, 'send'>,
    private readonly topic: string,
    private readonly batchSize: number,
    flushMs: number,
    private readonly log: (line: string) => void = console.error,
  ) {
    this.timer = setInterval(() => void this.flush(), flushMs);
  }

  record(impression: Impression): void {
    this.buffer.push(impression);
    if (this.buffer.length >= this.batchSize) void this.flush();
  }

  get pending(): number {
    return this.buffer.length;
  }

  /** Sends everything buffered so far; concurrent calls share one send. */
  flush(): Promise<void> {
    if (this.sending !== undefined) return this.sending;
    if (this.buffer.length === 0) return Promise.resolve();
    this.sending = this.sendBuffered().finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  /**
   * One request per batch: a backlog sent whole (after a failed or slow send) could outgrow the
   * broker's message size limit, and then fail on every retry while the backlog grows.
   */
  private async sendBuffered(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.batchSize);
      try {
        await this.producer.send({
          topic: this.topic,
          messages: batch.map((i) => ({ key: i.userId, value: JSON.stringify(i) })),
        });
        this.sent += batch.length;
      } catch (error) {
        this.failures++;
        this.lastError = (error as Error).message;
        this.log(`impressions: send of ${batch.length} failed (${this.lastError}); kept for the next flush`);
        this.buffer = [...batch, ...this.buffer];
        return;
      }
    }
  }

  /** Stops the timer and sends what is left; a send that keeps failing is reported, not hung on. */
  async close(attempts = 5): Promise<void> {
    clearInterval(this.timer);
    for (let n = 0; n < attempts && (this.buffer.length > 0 || this.sending !== undefined); n++) {
      await this.sending;
      await this.flush();
    }
    if (this.buffer.length > 0)
      throw new Error(`impressions: ${this.buffer.length} not sent at shutdown: ${this.lastError}`);
  }
}

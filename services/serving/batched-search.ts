/**
 * Concurrent searches sent together: requests that arrive within `windowMs` of the first, or
 * while a batch is in flight, go out as one multi-search. Each round trip costs the replica's
 * event loop about as much as one kNN call's own work (bench serve's profile; ~1.3–1.8 ms of
 * client CPU per single search against ~0.3 ms per search in batches of 8), so under load
 * batching gives the replica back most of that time. One batch is in flight at a time: what
 * waits meanwhile is what the next batch carries.
 */

/** Sends a batch; one answer per request, in order: its result, or the error of that one search. */
export type BatchSender<Request, Result> = (requests: Request[]) => Promise<(Result | Error)[]>;

interface Waiting<Request, Result> {
  request: Request;
  resolve(result: Result): void;
  reject(error: Error): void;
}

export class SearchBatcher<Request, Result> {
  private queue: Waiting<Request, Result>[] = [];
  private timer?: NodeJS.Timeout;
  private sending = false;

  constructor(
    private readonly send: BatchSender<Request, Result>,
    private readonly windowMs = 1,
    private readonly maxBatch = 64,
  ) {}

  /** The request's result; an abort rejects it at once, whether it is still waiting or already sent. */
  search(request: Request, signal: AbortSignal): Promise<Result> {
    if (signal.aborted) return Promise.reject(new Error('search aborted'));
    return new Promise<Result>((resolve, reject) => {
      const waiting: Waiting<Request, Result> = { request, resolve, reject };
      this.queue.push(waiting);
      signal.addEventListener(
        'abort',
        () => {
          const at = this.queue.indexOf(waiting);
          if (at >= 0) this.queue.splice(at, 1);
          reject(new Error('search aborted'));
        },
        { once: true },
      );
      if (this.sending) return;
      if (this.queue.length >= this.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.windowMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue.splice(0, this.maxBatch);
    if (batch.length === 0) return;
    this.sending = true;
    this.send(batch.map((w) => w.request))
      .then(
        (results) =>
          batch.forEach((w, i) => {
            const result = results[i];
            if (result === undefined)
              w.reject(new Error('the batch answered fewer searches than it was sent'));
            else if (result instanceof Error) w.reject(result);
            else w.resolve(result);
          }),
        (error: unknown) => {
          for (const w of batch) w.reject(error instanceof Error ? error : new Error(String(error)));
        },
      )
      .finally(() => {
        this.sending = false;
        // These waited for the batch in flight: they go now, without another window.
        if (this.queue.length > 0) this.flush();
      });
  }
}

/**
 * Concurrent searches sent together: requests that arrive within `windowMs` of the first, or
 * while the batches in flight fill every slot, go out as one multi-search. Each round trip
 * costs the replica's event loop about as much as one kNN call's own work (bench serve's
 * profile; ~1.3–1.8 ms of client CPU per single search against ~0.3 ms per search in batches
 * of 8), so under load batching gives the replica back most of that time.
 *
 * A slow batch degrades only its own requests: at most `maxInFlight` batches are out at once,
 * and a batch whose every caller has given up (each at its own deadline) is cancelled, which
 * frees its slot for the searches behind it. So the client-side time-out of a batch is the
 * longest deadline among its callers, not the search client's.
 */

/**
 * Sends a batch; one answer per request, in order: its result, or the error of that one search.
 * `abandoned` fires once no caller waits for the batch any more: the sender should cancel it.
 */
export type BatchSender<Request, Result> = (
  requests: Request[],
  abandoned: AbortSignal,
) => Promise<(Result | Error)[]>;

interface Waiting<Request, Result> {
  request: Request;
  resolve(result: Result): void;
  reject(error: Error): void;
  /** Set once the request is sent: tells its batch that this caller gave up. */
  giveUp?: () => void;
}

export class SearchBatcher<Request, Result> {
  private queue: Waiting<Request, Result>[] = [];
  private timer?: NodeJS.Timeout;
  private inFlight = 0;

  constructor(
    private readonly send: BatchSender<Request, Result>,
    private readonly windowMs = 1,
    private readonly maxBatch = 64,
    private readonly maxInFlight = 2,
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
          else waiting.giveUp?.();
          reject(new Error('search aborted'));
        },
        { once: true },
      );
      if (this.inFlight >= this.maxInFlight) return;
      if (this.queue.length >= this.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.windowMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlight >= this.maxInFlight) return;
    const batch = this.queue.splice(0, this.maxBatch);
    if (batch.length === 0) return;
    this.inFlight++;
    let holdsSlot = true;
    // A cancelled batch frees its slot at once, whether or not the sender has noticed yet.
    const release = () => {
      if (!holdsSlot) return;
      holdsSlot = false;
      this.inFlight--;
      // These waited for a free slot: they go now, without another window.
      if (this.queue.length > 0) this.flush();
    };
    const abandoned = new AbortController();
    let waiting = batch.length;
    for (const w of batch)
      w.giveUp = () => {
        waiting--;
        if (waiting > 0) return;
        abandoned.abort();
        release();
      };
    this.send(
      batch.map((w) => w.request),
      abandoned.signal,
    )
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
      .finally(release);
  }
}

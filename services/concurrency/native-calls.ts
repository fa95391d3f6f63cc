/**
 * A thread may be terminated only while it runs JavaScript. Terminated inside a native call
 * (XGBoost through koffi, ONNX Runtime), the addon's first step back into JavaScript fails, and
 * node-addon-api turns that into a fatal error that aborts the whole process, not just the thread:
 * a worker shut down mid-training died of SIGABRT instead of exiting within its grace time.
 *
 * So native calls on a task thread pass through a gate shared with the thread that owns it. The
 * owner closes the gate, waits until no call is in flight, then terminates; a call that returns
 * after the gate closed, or tries to start, throws `ThreadStopping` instead.
 */

const CLOSED = 0;
const IN_FLIGHT = 1;

/** Thrown on a task thread in place of a native call's result once its owner is stopping it. */
export class ThreadStopping extends Error {
  override name = 'ThreadStopping';
  constructor() {
    super('the thread is being stopped');
  }
}

/** The owner's side: created before the thread, its buffer handed to the thread. */
export class NativeCallGate {
  readonly buffer = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
  private readonly cells = new Int32Array(this.buffer);

  /**
   * Resolves once no native call is in flight on the thread and none can start, or once the
   * thread has ended (a thread that died mid-call never leaves the gate).
   */
  async close(ended: () => boolean): Promise<void> {
    Atomics.store(this.cells, CLOSED, 1);
    while (Atomics.load(this.cells, IN_FLIGHT) !== 0 && !ended()) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

/** The gate of the thread this module runs on; none on threads no owner will terminate. */
let gate: Int32Array | undefined;

/** Called once on a task thread, with the buffer its owner created. */
export function enterThroughGate(buffer: SharedArrayBuffer): void {
  gate = new Int32Array(buffer);
}

function enter(cells: Int32Array): void {
  // Counting first, then reading the flag, pairs with the owner's store-then-read: with sequentially
  // consistent atomics either this call sees the gate closed or the owner sees the call in flight.
  Atomics.add(cells, IN_FLIGHT, 1);
  if (Atomics.load(cells, CLOSED) === 1) {
    Atomics.sub(cells, IN_FLIGHT, 1);
    throw new ThreadStopping();
  }
}

function leave(cells: Int32Array): void {
  Atomics.sub(cells, IN_FLIGHT, 1);
  if (Atomics.load(cells, CLOSED) === 1) throw new ThreadStopping();
}

/** A synchronous native call. */
export function nativeCall<T>(call: () => T): T {
  const cells = gate;
  if (cells === undefined) return call();
  enter(cells);
  try {
    return call();
  } finally {
    // Leaving a closed gate throws, in place of the result or of the call's own error.
    leave(cells);
  }
}

/** A native call whose work continues until its promise settles (ONNX Runtime's sessions). */
export async function nativeTask<T>(call: () => Promise<T>): Promise<T> {
  const cells = gate;
  if (cells === undefined) return call();
  enter(cells);
  try {
    return await call();
  } finally {
    leave(cells);
  }
}

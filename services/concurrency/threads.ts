/** Worker threads whose entry is a module of this project, TypeScript included. */
import { extname } from 'node:path';
import { Worker, workerData } from 'node:worker_threads';
import { enterThroughGate, NativeCallGate } from './native-calls';

let running = 0;

/**
 * Threads started from this thread that have not exited yet. Threads a thread started end with
 * it, so zero here means none of their threads run either: what a cancelled task must reach.
 */
export const runningThreads = (): number => running;

/**
 * Under tsx the entry is TypeScript, which a bare Worker cannot load: tsx is registered inside
 * the thread first. `modulePath` has no extension; the caller's own extension is used.
 */
export function spawnModuleWorker(modulePath: string, data?: unknown): Worker {
  const extension = extname(__filename);
  const entry = JSON.stringify(`${modulePath}${extension}`);
  const source =
    extension === '.ts'
      ? `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${entry});`
      : `require(${entry});`;
  const worker = new Worker(source, { eval: true, workerData: data });
  running++;
  worker.once('exit', () => {
    running--;
  });
  return worker;
}

/** What a task thread posts back: its result, or the error its task threw. */
export type ThreadAnswer<T> = { result: T } | { error: { message: string; stack?: string } };

/** The task in the thread threw: the same input would throw again, unlike a thread that died. */
export class ThreadTaskError extends Error {
  override name = 'ThreadTaskError';
  constructor(error: { message: string; stack?: string }) {
    super(error.message);
    if (error.stack !== undefined) this.stack = error.stack;
  }
}

/** What `runInThread` hands its thread: the task, and the gate its native calls pass through. */
interface ThreadStart {
  task: unknown;
  nativeCalls: SharedArrayBuffer;
}

/** The task of a thread started by `runInThread`; its native calls pass through the owner's gate from now on. */
export function threadTask<T>(): T {
  const start = workerData as ThreadStart;
  enterThroughGate(start.nativeCalls);
  return start.task as T;
}

/** Posts a task's outcome from inside a thread started by `runInThread`. */
export function answerFromThread<T>(post: (answer: ThreadAnswer<T>) => void, work: Promise<T>): void {
  work.then(
    (result) => post({ result }),
    (error: unknown) =>
      post({
        error:
          error instanceof Error
            ? { message: error.message, stack: error.stack }
            : { message: String(error) },
      }),
  );
}

/**
 * Runs one task in a fresh thread and resolves with what the thread posts back. An abort
 * terminates the thread as soon as it is outside native code (numerical work never yields to look
 * at a signal, so it is terminated rather than asked), then rejects with the signal's reason.
 */
export function runInThread<T>(modulePath: string, task: unknown, signal?: AbortSignal): Promise<T> {
  signal?.throwIfAborted();
  const nativeCalls = new NativeCallGate();
  const start: ThreadStart = { task, nativeCalls: nativeCalls.buffer };
  const worker = spawnModuleWorker(modulePath, start);
  let ended = false;
  const stop = () => nativeCalls.close(() => ended).then(() => worker.terminate());
  return new Promise<T>((resolve, reject) => {
    let aborted = false;
    const abort = () => {
      aborted = true;
      void stop();
    };
    signal?.addEventListener('abort', abort, { once: true });
    worker.once('message', (answer: ThreadAnswer<T>) => {
      // After an abort the thread may still answer, with the ThreadStopping its gate threw.
      if (aborted) return;
      if ('error' in answer) reject(new ThreadTaskError(answer.error));
      else resolve(answer.result);
      void stop();
    });
    worker.once('error', reject);
    // An abort settles only here, once the thread is gone, so a process that exits after a
    // cancelled task never tears a thread down inside a native call either.
    worker.once('exit', (code) => {
      ended = true;
      signal?.removeEventListener('abort', abort);
      reject(aborted ? signal?.reason : new Error(`worker thread exited with code ${code} before answering`));
    });
  });
}

/** Worker threads whose entry is a module of this project, TypeScript included. */
import { extname } from 'node:path';
import { Worker } from 'node:worker_threads';

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
export function spawnModuleWorker(modulePath: string, workerData?: unknown): Worker {
  const extension = extname(__filename);
  const entry = JSON.stringify(`${modulePath}${extension}`);
  const source =
    extension === '.ts'
      ? `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${entry});`
      : `require(${entry});`;
  const worker = new Worker(source, { eval: true, workerData });
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
 * terminates the thread at once (numerical work never yields to look at a signal) and rejects
 * with the signal's reason.
 */
export function runInThread<T>(modulePath: string, workerData: unknown, signal?: AbortSignal): Promise<T> {
  signal?.throwIfAborted();
  const worker = spawnModuleWorker(modulePath, workerData);
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      void worker.terminate();
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', abort, { once: true });
    worker.once('exit', () => signal?.removeEventListener('abort', abort));
    worker.once('message', (answer: ThreadAnswer<T>) => {
      if ('error' in answer) reject(new ThreadTaskError(answer.error));
      else resolve(answer.result);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`worker thread exited with code ${code} before answering`)),
    );
  });
}

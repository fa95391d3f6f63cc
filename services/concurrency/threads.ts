/** Worker threads whose entry is a module of this project, TypeScript included. */
import { extname } from 'node:path';
import { Worker } from 'node:worker_threads';

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
  return new Worker(source, { eval: true, workerData });
}

/** Runs one task in a fresh thread and resolves with what the thread posts back. */
export function runInThread<T>(modulePath: string, workerData: unknown): Promise<T> {
  const worker = spawnModuleWorker(modulePath, workerData);
  return new Promise<T>((resolve, reject) => {
    worker.once('message', (message: { result?: T; error?: string }) => {
      if (message.error !== undefined) reject(new Error(message.error));
      else resolve(message.result as T);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`worker thread exited with code ${code} before answering`)),
    );
  });
}

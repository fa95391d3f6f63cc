import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { spawnModuleWorker } from '../concurrency/threads';
import { type HalfStep, solveRows } from './ials-solver';
import type { SolveRequest } from './ials-worker';

/**
 * Splits an iALS half-step across the main thread plus `extraThreads` workers.
 * Row solves within a half-step are independent, so the result is the
 * single-threaded one, up to the rounding of the Gramian that the kernel sums per thread. The factor arrays in each step must be backed by
 * SharedArrayBuffer; so is everything else when the step runs in a kernel arena,
 * otherwise the sparse structure and Gramian are copied to each thread.
 */
export class RowSolverPool {
  private constructor(private readonly workers: Worker[]) {}

  static start(extraThreads: number): RowSolverPool {
    return new RowSolverPool(Array.from({ length: extraThreads }, () => spawnWorker()));
  }

  async solve(step: HalfStep): Promise<void> {
    const bounds = balancedBounds(step, this.workers.length + 1);
    const pending = this.workers.map(
      (worker, w) =>
        new Promise<void>((resolve, reject) => {
          const onError = (error: Error) => {
            worker.off('message', onDone);
            reject(error);
          };
          const onDone = () => {
            worker.off('error', onError);
            resolve();
          };
          worker.once('message', onDone);
          worker.once('error', onError);
          const request: SolveRequest = { step, from: bounds[w + 1], to: bounds[w + 2], part: w + 1 };
          worker.postMessage(request);
        }),
    );
    solveRows(step, bounds[0], bounds[1]);
    await Promise.all(pending);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}

function spawnWorker(): Worker {
  return spawnModuleWorker(join(__dirname, 'ials-worker'));
}

/** Row ranges with roughly equal cost, a row costing about k² + k·|positives| per CG step. */
export function balancedBounds(step: Pick<HalfStep, 'ptr' | 'k'>, parts: number): number[] {
  const rows = step.ptr.length - 1;
  const cost = (r: number) => r * step.k + step.ptr[r];
  const total = cost(rows);
  const bounds = [0];
  let r = 0;
  for (let p = 1; p < parts; p++) {
    while (r < rows && cost(r) < (total * p) / parts) r++;
    bounds.push(r);
  }
  bounds.push(rows);
  return bounds;
}

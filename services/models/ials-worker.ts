import { parentPort } from 'node:worker_threads';
import { type HalfStep, solveRows } from './ials-solver';

export interface SolveRequest {
  step: HalfStep;
  from: number;
  to: number;
  /** Which slice of the kernel scratch this thread owns. */
  part: number;
}

// Factor arrays arrive on SharedArrayBuffers, so solving in place is visible to the parent.
parentPort?.on('message', ({ step, from, to, part }: SolveRequest) => {
  solveRows(step, from, to, part);
  parentPort?.postMessage(null);
});

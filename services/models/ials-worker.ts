import { parentPort } from 'node:worker_threads';
import { type HalfStep, solveRows } from './ials-solver';

export interface SolveRequest {
  step: HalfStep;
  from: number;
  to: number;
}

// Factor arrays arrive on SharedArrayBuffers, so solving in place is visible to the parent.
parentPort?.on('message', ({ step, from, to }: SolveRequest) => {
  solveRows(step, from, to);
  parentPort?.postMessage(null);
});

/**
 * An open-loop load: one call is due every 1/rate seconds whatever the earlier ones are doing,
 * so a fault that slows the server cannot slow the load down and hide in it.
 */
import type { Sample } from './measures';

export interface RunningLoad {
  /** How many calls were started so far. */
  started(): number;
  /** Starts no more calls, waits for those in flight, and returns every sample in order. */
  stop(): Promise<Sample[]>;
}

export function fixedRate(rate: number, call: (n: number, due: number) => Promise<Sample>): RunningLoad {
  const samples: Promise<Sample>[] = [];
  let stopped = false;
  const start = performance.now();
  const loop = (async () => {
    for (let n = 0; !stopped; n++) {
      const due = start + (n * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      if (stopped) break;
      samples.push(call(n, due));
    }
  })();
  return {
    started: () => samples.length,
    async stop() {
      stopped = true;
      await loop;
      return Promise.all(samples);
    },
  };
}

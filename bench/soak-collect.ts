/**
 * A soak child (started with `--expose-gc` and `CAIRN_SOAK_GC=1`) does a full collection on
 * `collectionSignal`. A process that does no work in the steady part allocates too little for V8
 * to ever collect its old generation, so without this it leaves no heap-after-collection point to
 * judge; a requested collection leaves the same measure a natural one does. Only with the variable
 * set, so no deployed process reacts; installed from the command line's entry, not preloaded,
 * because worker threads inherit preloads and cannot load TypeScript before their own loader.
 */
export const soakCollectVariable = 'CAIRN_SOAK_GC';

/** Node flags of a soak child: its major collections printed, and `gc()` for a requested one. */
export const soakNodeFlags = ['--trace-gc', '--expose-gc'] as const;

/**
 * SIGWINCH: its default action is to ignore it, so a child asked before its handler is installed
 * is not killed; SIGUSR2 is one of the Temporal runtime's shutdown signals (serve and worker
 * stopped on it in a soak), and SIGUSR1 opens Node's inspector.
 */
export const collectionSignal = 'SIGWINCH';

export function answerCollectionRequests(env: NodeJS.ProcessEnv): void {
  if (env[soakCollectVariable] !== '1') return;
  process.on(collectionSignal, () => {
    if (typeof globalThis.gc === 'function') globalThis.gc();
  });
}

/**
 * A soak child (started with `--expose-gc` and `CAIRN_SOAK_GC=1`) does a full collection on SIGUSR2.
 * A process that does no work in the steady part allocates too little for V8 to ever collect its
 * old generation, so without this it leaves no heap-after-collection point to judge; a requested
 * collection leaves the same measure a natural one does. Only with the variable set, so no deployed
 * process reacts to the signal; installed from the command line's entry, not preloaded, because
 * worker threads inherit preloads and cannot load TypeScript before their own loader is in place.
 */
export const soakCollectVariable = 'CAIRN_SOAK_GC';

export function answerCollectionRequests(env: NodeJS.ProcessEnv): void {
  if (env[soakCollectVariable] !== '1') return;
  process.on('SIGUSR2', () => {
    if (typeof globalThis.gc === 'function') globalThis.gc();
  });
}

/**
 * Preloaded (`--import`) into each soak child, which the soak starts with `--expose-gc`: SIGUSR2
 * asks it for a full collection. A process that does no work in the steady part allocates too little
 * for V8 to ever collect its old generation, so without this it leaves no heap-after-collection
 * point to judge; a requested collection leaves the same measure a natural one does. Loaded only by
 * the soak, so no deployed process reacts to the signal.
 */
process.on('SIGUSR2', () => {
  if (typeof globalThis.gc === 'function') globalThis.gc();
});

/**
 * Assembles ials-kernel.wat into the committed ials-kernel.wasm, so running Cairn needs no
 * assembler. Run after editing the .wat: npx tsx services/models/ials-kernel-assemble.ts
 * (test/models/ials-kernel.test.ts fails while the two disagree).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import wabt from 'wabt';

export const KERNEL_SOURCE = join(__dirname, 'ials-kernel.wat');
export const KERNEL_BINARY = join(__dirname, 'ials-kernel.wasm');

export async function assembleKernel(): Promise<Uint8Array> {
  const toolkit = await wabt();
  const features = { simd: true, threads: true, bulk_memory: true };
  const module = toolkit.parseWat(KERNEL_SOURCE, readFileSync(KERNEL_SOURCE, 'utf8'), features);
  try {
    // wabt's typings omit validate's feature argument, which a shared memory needs.
    const validate: (options: typeof features) => void = module.validate.bind(module);
    validate(features);
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

if (require.main === module) {
  assembleKernel().then(
    (binary) => {
      writeFileSync(KERNEL_BINARY, binary);
      console.log(`wrote ${KERNEL_BINARY} (${binary.length} bytes)`);
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}

/**
 * The WebAssembly SIMD side of the iALS solver (source: ials-kernel.wat). Everything a half-step
 * reads or writes lives in one shared WebAssembly.Memory, an arena sized once per fit, so worker
 * threads solve their rows in place: nothing is copied between threads but a few offsets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The slice of the WebAssembly API used here; Node's typings at this version leave it out. */
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
}
/** Opaque: only ever handed back to the Instance constructor. */
declare const compiledModule: unique symbol;
interface WasmModule {
  readonly [compiledModule]: true;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: { env: { memory: WasmMemory } }) => { exports: unknown };
  Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => WasmMemory;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const PAGE_BYTES = 65_536;
/** wasm32 addresses 4 GiB; above that the solver falls back to the JavaScript kernel. */
const MAX_PAGES = 65_536;
const ALIGN = 16;

let compiled: WasmModule | undefined;

function kernelModule(): WasmModule {
  compiled ??= new wasm.Module(readFileSync(join(__dirname, 'ials-kernel.wasm')));
  return compiled;
}

interface KernelExports {
  solveRows(
    target: number,
    fixed: number,
    gram: number,
    ptr: number,
    idx: number,
    strength: number,
    k: number,
    alpha: number,
    steps: number,
    scratch: number,
    from: number,
    to: number,
    block: number,
    total: number,
    inverse: number,
  ): void;
  gramRows(factors: number, k: number, from: number, to: number, block: number, total: number): void;
}

let instance: { memory: WasmMemory; exports: KernelExports } | undefined;

/** One instance per memory and thread; a thread solves for one fit at a time. */
function kernelFor(memory: WasmMemory): KernelExports {
  if (instance?.memory === memory) return instance.exports;
  // The module's only import is this memory and its exports are the two functions typed above.
  const exports = new wasm.Instance(kernelModule(), { env: { memory } }).exports as KernelExports;
  instance = { memory, exports };
  return exports;
}

const aligned = (bytes: number) => Math.ceil(bytes / ALIGN) * ALIGN;

/** A bump allocator over a fixed-size shared memory; offset 0 stays unused, meaning "absent". */
export class KernelArena {
  private next = ALIGN;

  private constructor(readonly memory: WasmMemory) {}

  /** Room for arrays of these byte sizes, or undefined when they do not fit in wasm32. */
  static of(sizes: readonly number[]): KernelArena | undefined {
    const bytes = sizes.reduce((sum, size) => sum + aligned(size), ALIGN);
    const pages = Math.ceil(bytes / PAGE_BYTES);
    if (pages > MAX_PAGES) return undefined;
    return new KernelArena(new wasm.Memory({ initial: pages, maximum: pages, shared: true }));
  }

  float32(length: number): Float32Array {
    return new Float32Array(this.memory.buffer, this.take(length * 4), length);
  }

  float64(length: number): Float64Array {
    return new Float64Array(this.memory.buffer, this.take(length * 8), length);
  }

  int32(length: number): Int32Array {
    return new Int32Array(this.memory.buffer, this.take(length * 4), length);
  }

  private take(bytes: number): number {
    const offset = this.next;
    this.next += aligned(bytes);
    if (this.next > this.memory.buffer.byteLength) throw new Error('ials: kernel arena overflow');
    return offset;
  }
}

/** A half-step whose arrays are all views into `memory` (see KernelArena). */
export interface KernelStep {
  memory: WasmMemory;
  target: Float32Array;
  fixed: Float32Array;
  /** YᵀY + λI in single precision. */
  gram: Float32Array;
  /** (YᵀY + λI)⁻¹: when given, rows with a single positive are solved exactly with it. */
  inverse?: Float32Array;
  ptr: Int32Array;
  idx: Int32Array;
  strength?: Float32Array;
  k: number;
  alpha: number;
  cgSteps: number;
  /** 3·k floats per solving thread. */
  scratch: Float32Array;
  /** k² floats per solving thread, zero between calls. */
  blocks: Float32Array;
  /** k² doubles per solving thread: each thread adds the Gramian of the rows it solved. */
  totals: Float64Array;
}

/** Arena bytes a fit needs for its per-thread kernel scratch, blocks and Gramian totals. */
export const threadScratchBytes = (k: number, threads: number): number[] => [
  threads * 3 * k * 4,
  threads * k * k * 4,
  threads * k * k * 8,
];

/** The JavaScript kernel's arithmetic in SIMD: needs k divisible by 4 (aligned rows). */
export const kernelSupports = (k: number): boolean => k % 4 === 0;

/** Rows [from, to) of one side, using the `part`-th slice of the scratch. */
export function solveRowsInKernel(step: KernelStep, from: number, to: number, part: number): void {
  kernelFor(step.memory).solveRows(
    step.target.byteOffset,
    step.fixed.byteOffset,
    step.gram.byteOffset,
    step.ptr.byteOffset,
    step.idx.byteOffset,
    step.strength?.byteOffset ?? 0,
    step.k,
    step.alpha,
    step.cgSteps,
    step.scratch.byteOffset + part * 3 * step.k * 4,
    from,
    to,
    step.blocks.byteOffset + part * step.k * step.k * 4,
    step.totals.byteOffset + part * step.k * step.k * 8,
    step.inverse?.byteOffset ?? 0,
  );
}

/** The Gramian of the rows solved since `totals` was zeroed, summed over threads; zeroes it. */
export function takeSolvedGramian(totals: Float64Array, k: number): Float64Array {
  const gram = new Float64Array(k * k);
  for (let n = 0; n < totals.length; n++) gram[n % (k * k)] += totals[n];
  totals.fill(0);
  return gram;
}

/** YᵀY over `rows` rows of `factors` (a view into the arena), in one thread's block and total. */
export function kernelGramian(
  memory: WasmMemory,
  factors: Float32Array,
  rows: number,
  k: number,
  { blocks, totals }: Pick<KernelStep, 'blocks' | 'totals'>,
): Float64Array {
  totals.fill(0);
  kernelFor(memory).gramRows(factors.byteOffset, k, 0, rows, blocks.byteOffset, totals.byteOffset);
  return takeSolvedGramian(totals, k);
}

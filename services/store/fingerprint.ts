/**
 * 64-bit fingerprints of event ids, kept as two 32-bit halves so that a set of millions of them
 * fits in typed arrays instead of a Set of strings (≈16 bytes per id instead of ≈60). The
 * chance that two of 10M distinct ids collide is about 3·10⁻⁶.
 */
export interface Fingerprint {
  hi: number;
  lo: number;
}

export function fingerprint(text: string): Fingerprint {
  // Two FNV-1a passes with different offset bases, then an avalanche so nearby ids spread.
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 13);
  }
  return { hi: avalanche(a) >>> 0, lo: avalanche(b ^ a) >>> 0 };
}

function avalanche(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return x ^ (x >>> 16);
}

/** An open-addressing set of fingerprints; (0,0) marks an empty slot, so it is remapped. */
export class FingerprintSet {
  private slots: Uint32Array;
  private count = 0;

  constructor(expected = 1024) {
    let capacity = 1024;
    while (capacity < expected * 2) capacity *= 2;
    this.slots = new Uint32Array(capacity * 2);
  }

  get size(): number {
    return this.count;
  }

  /** Adds the fingerprint; false when it was already present. */
  add({ hi, lo }: Fingerprint): boolean {
    if (this.count * 2 >= this.slots.length / 2) this.grow();
    return this.insert(hi, lo === 0 && hi === 0 ? 1 : lo);
  }

  has({ hi, lo }: Fingerprint): boolean {
    const l = lo === 0 && hi === 0 ? 1 : lo;
    const mask = this.slots.length / 2 - 1;
    for (let i = (hi ^ Math.imul(l, 0x9e3779b1)) & mask; ; i = (i + 1) & mask) {
      const h = this.slots[2 * i];
      const v = this.slots[2 * i + 1];
      if (h === 0 && v === 0) return false;
      if (h === hi && v === l) return true;
    }
  }

  private insert(hi: number, lo: number): boolean {
    const mask = this.slots.length / 2 - 1;
    for (let i = (hi ^ Math.imul(lo, 0x9e3779b1)) & mask; ; i = (i + 1) & mask) {
      const h = this.slots[2 * i];
      const v = this.slots[2 * i + 1];
      if (h === 0 && v === 0) {
        this.slots[2 * i] = hi;
        this.slots[2 * i + 1] = lo;
        this.count++;
        return true;
      }
      if (h === hi && v === lo) return false;
    }
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    this.count = 0;
    for (let i = 0; i < old.length; i += 2)
      if (old[i] !== 0 || old[i + 1] !== 0) this.insert(old[i], old[i + 1]);
  }
}

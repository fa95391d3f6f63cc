/**
 * 64-bit fingerprints of event ids, kept as two 32-bit halves so that a set of millions of them
 * fits in typed arrays instead of a Set of strings (≈16 bytes per id instead of ≈60).
 *
 * The fingerprint is the first 64 bits of SHA-256: producers choose event ids, and a fingerprint
 * collision drops a real event as a duplicate, so the hash must spread any ids, however alike
 * (the FNV-based hash of store format 1 had 64-bit collisions within a 2^27 brute-force search).
 * For n distinct ids the chance of any collision is about n²/2⁶⁵: 3·10⁻⁶ for 10M ids, 10⁻⁴ for
 * 67M (a 2 GiB store).
 */
import { hash } from 'node:crypto';

export interface Fingerprint {
  hi: number;
  lo: number;
}

export function fingerprint(text: string): Fingerprint {
  const digest = hash('sha256', text, 'buffer');
  return { hi: digest.readUInt32BE(0), lo: digest.readUInt32BE(4) };
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

/**
 * An order-independent digest of a multiset of records, computed in one streaming pass with
 * constant memory, so a store of any size (2 GiB is 67M interactions) gets a checksum without
 * holding one value per record.
 *
 * Each record is hashed to 128 bits (MurmurHash3 x86_128 over its words, or SHA-256 for text),
 * and the hashes are summed lane by lane, four 32-bit lanes each modulo 2³². A sum, unlike a
 * sort, needs no memory per record; unlike XOR, it does not cancel a record that appears twice,
 * so a duplicated record changes the digest. For two different multisets of records the chance
 * of equal digests is about 2⁻¹²⁸ per lane set (the record hashes act as independent random
 * values), which is far below any accidental corruption's odds. It is a consistency check of
 * what the store holds against a rebuild from the log, not a defence against a forger.
 */
import { createHash, hash } from 'node:crypto';

export class ContentDigest {
  private readonly lanes = new Uint32Array(4);
  private readonly blocks: Uint32Array;
  private readonly out = new Uint32Array(4);
  private records = 0;

  /** `recordWords` is the fixed number of 32-bit words every `addRecord` call hashes. */
  constructor(private readonly recordWords: number) {
    this.blocks = new Uint32Array(Math.ceil(recordWords / 4) * 4);
  }

  /** The words to hash for the next record; fill them, then call `addRecord`. */
  get words(): Uint32Array {
    return this.blocks;
  }

  addRecord(): void {
    murmur3x86x128(this.blocks, this.recordWords * 4, this.out);
    this.addHash(this.out[0], this.out[1], this.out[2], this.out[3]);
  }

  addText(text: string): void {
    const h = hash('sha256', text, 'buffer');
    this.addHash(h.readUInt32LE(0), h.readUInt32LE(4), h.readUInt32LE(8), h.readUInt32LE(12));
  }

  /** The digest of everything added, with a label that keeps different kinds of content apart. */
  hex(label: string): string {
    return createHash('sha256')
      .update(label)
      .update(new Uint8Array(this.lanes.buffer))
      .update(String(this.records))
      .digest('hex');
  }

  private addHash(h1: number, h2: number, h3: number, h4: number): void {
    this.lanes[0] += h1;
    this.lanes[1] += h2;
    this.lanes[2] += h3;
    this.lanes[3] += h4;
    this.records++;
  }
}

const c1 = 0x239b961b;
const c2 = 0xab0e9789;
const c3 = 0x38b34ae5;
const c4 = 0xa1e38b93;

const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));

function fmix(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return x ^ (x >>> 16);
}

/** MurmurHash3 x86_128 (seed 0) over whole 16-byte blocks; `length` is the hashed byte count. */
function murmur3x86x128(words: Uint32Array, length: number, out: Uint32Array): void {
  let h1 = 0;
  let h2 = 0;
  let h3 = 0;
  let h4 = 0;
  for (let i = 0; i < words.length; i += 4) {
    h1 ^= Math.imul(rotl(Math.imul(words[i], c1), 15), c2);
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
    h2 ^= Math.imul(rotl(Math.imul(words[i + 1], c2), 16), c3);
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
    h3 ^= Math.imul(rotl(Math.imul(words[i + 2], c3), 17), c4);
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
    h4 ^= Math.imul(rotl(Math.imul(words[i + 3], c4), 18), c1);
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
  }
  h1 ^= length;
  h2 ^= length;
  h3 ^= length;
  h4 ^= length;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  out[0] = h1;
  out[1] = h2;
  out[2] = h3;
  out[3] = h4;
}

/**
 * The rows of a [rows × width] embedding table that one training step wrote, each once: the
 * step's gradient is zero everywhere else, so the update visits only these.
 */
export class RowSet {
  private readonly member: Uint8Array;
  private readonly list: Int32Array;
  private count = 0;

  constructor(
    readonly capacity: number,
    readonly width: number,
  ) {
    this.member = new Uint8Array(capacity);
    this.list = new Int32Array(capacity);
  }

  has(row: number): boolean {
    return this.member[row] === 1;
  }

  /** True when `row` was not in the set yet. */
  add(row: number): boolean {
    if (this.member[row]) return false;
    this.member[row] = 1;
    this.list[this.count++] = row;
    return true;
  }

  get size(): number {
    return this.count;
  }

  /** The rows, in the order they were added; valid until the next `clear`. */
  rows(): Int32Array {
    return this.list.subarray(0, this.count);
  }

  clear(): void {
    for (let n = 0; n < this.count; n++) this.member[this.list[n]] = 0;
    this.count = 0;
  }
}

/**
 * The objects fanned-out iALS training stores, their keys and their bytes. An object is a JSON
 * header (what it is and its sizes) followed by little-endian typed arrays, each 8-byte aligned,
 * so a worker reads it into typed arrays without parsing numbers one by one.
 */

/** Which side a half-step solves: the user rows (CSR) or the item rows (CSC). */
export type IalsSide = 'users' | 'items';

/** Object names, by run, epoch, half and shard: an output's key says exactly what it holds. */
export const ialsKeys = {
  matrix: (run: string) => `${run}/matrix`,
  start: (run: string, side: IalsSide) => `${run}/start/${side}`,
  shard: (run: string, epoch: number, side: IalsSide, shard: number) =>
    `${run}/epoch-${epoch}/${side}/shard-${shard}`,
  half: (run: string, epoch: number, side: IalsSide) => `${run}/epoch-${epoch}/${side}`,
};

/** The positives of both sides: CSR for the user half-step, CSC for the item half-step. */
export interface FanOutMatrix {
  nUsers: number;
  nItems: number;
  userPtr: Int32Array;
  userItems: Int32Array;
  itemPtr: Int32Array;
  itemUsers: Int32Array;
}

/** Rows [from, from + rows) of one side's factors, with the Gramian of those rows. */
export interface FactorBlock {
  from: number;
  rows: number;
  k: number;
  factors: Float32Array;
  gram: Float64Array;
}

export class FanOutFormatError extends Error {
  override name = 'FanOutFormatError';
}

const ALIGN = 8;
const aligned = (bytes: number) => Math.ceil(bytes / ALIGN) * ALIGN;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MATRIX_FORMAT = 'cairn-ials-matrix-1';
const FACTORS_FORMAT = 'cairn-ials-factors-1';

type Column = Int32Array | Float32Array | Float64Array;
type ColumnType = {
  new (buffer: ArrayBufferLike, offset: number, length: number): Column;
  BYTES_PER_ELEMENT: number;
};

function encode(header: Record<string, unknown>, columns: Column[]): Uint8Array {
  const head = encoder.encode(JSON.stringify(header));
  const start = aligned(4 + head.length);
  const size = columns.reduce((total, column) => total + aligned(column.byteLength), start);
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, head.length, true);
  out.set(head, 4);
  let at = start;
  for (const column of columns) {
    out.set(new Uint8Array(column.buffer, column.byteOffset, column.byteLength), at);
    at += aligned(column.byteLength);
  }
  return out;
}

/** The header, and a reader of the columns that checks they fill the object exactly. */
function decode(
  bytes: Uint8Array,
  what: string,
  format: string,
): { header: Record<string, unknown>; columns: (layout: [ColumnType, number][]) => Column[] } {
  // Typed views need aligned offsets; a blob read from the store may be a view into a pooled
  // buffer at any offset (and a Buffer's slice is a view too, so this copies explicitly).
  const own = bytes.byteOffset % ALIGN === 0 ? bytes : new Uint8Array(bytes);
  const fail = (why: string) => new FanOutFormatError(`${what} is not a ${format} object: ${why}`);
  if (own.length < 4) throw fail(`${own.length} bytes`);
  const headLength = new DataView(own.buffer, own.byteOffset, 4).getUint32(0, true);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(decoder.decode(own.subarray(4, 4 + headLength)));
  } catch (error) {
    throw fail(`unreadable header (${(error as Error).message})`);
  }
  if (header.format !== format) throw fail(`its header says ${JSON.stringify(header.format)}`);
  return {
    header,
    columns(layout) {
      const expected = layout.reduce(
        (total, [type, length]) => total + aligned(length * type.BYTES_PER_ELEMENT),
        aligned(4 + headLength),
      );
      if (expected !== own.length) throw fail(`${own.length} bytes where its header implies ${expected}`);
      let at = own.byteOffset + aligned(4 + headLength);
      return layout.map(([type, length]) => {
        const column = new type(own.buffer, at, length);
        at += aligned(length * type.BYTES_PER_ELEMENT);
        return column;
      });
    },
  };
}

function count(header: Record<string, unknown>, field: string, what: string): number {
  const value = header[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new FanOutFormatError(`${what}: header field ${field} is ${JSON.stringify(value)}`);
  return value;
}

export function encodeMatrix(matrix: FanOutMatrix): Uint8Array {
  const { nUsers, nItems, userPtr, userItems, itemPtr, itemUsers } = matrix;
  return encode({ format: MATRIX_FORMAT, nUsers, nItems, nnz: userItems.length }, [
    userPtr,
    userItems,
    itemPtr,
    itemUsers,
  ]);
}

export function decodeMatrix(bytes: Uint8Array, what: string): FanOutMatrix {
  const { header, columns } = decode(bytes, what, MATRIX_FORMAT);
  const [nUsers, nItems, nnz] = ['nUsers', 'nItems', 'nnz'].map((field) => count(header, field, what));
  const [userPtr, userItems, itemPtr, itemUsers] = columns([
    [Int32Array, nUsers + 1],
    [Int32Array, nnz],
    [Int32Array, nItems + 1],
    [Int32Array, nnz],
  ]) as Int32Array[];
  return { nUsers, nItems, userPtr, userItems, itemPtr, itemUsers };
}

export function encodeFactors({ from, rows, k, factors, gram }: FactorBlock): Uint8Array {
  return encode({ format: FACTORS_FORMAT, from, rows, k }, [factors, gram]);
}

export function decodeFactors(bytes: Uint8Array, what: string): FactorBlock {
  const { header, columns } = decode(bytes, what, FACTORS_FORMAT);
  const [from, rows, k] = ['from', 'rows', 'k'].map((field) => count(header, field, what));
  const [factors, gram] = columns([
    [Float32Array, rows * k],
    [Float64Array, k * k],
  ]);
  return { from, rows, k, factors: factors as Float32Array, gram: gram as Float64Array };
}

/**
 * Ranking feature tables as one release artifact, `ranker-features.bin`: a little-endian u32
 * header length, a JSON header (names, genres, sizes, the layout of every array), then the arrays
 * themselves at 8-byte aligned offsets. Binary because the tables hold NaN for what is unknown,
 * which JSON cannot carry.
 */
import type { RankingFeatureTables } from './features';

type FlatArray = Float32Array | Float64Array | Int32Array;
const kinds = { f32: Float32Array, f64: Float64Array, i32: Int32Array } as const;
type Kind = keyof typeof kinds;

interface Layout {
  names: string[];
  genres: string[];
  nItems: number;
  signals: number;
  arrays: { name: string; kind: Kind; offset: number; length: number }[];
}

const flatKeys = [
  'userAge',
  'userGender',
  'userOccupation',
  'userActivity',
  'userMeanRating',
  'userMeanYear',
  'userGenreShare',
  'userLastTime',
  'itemPopularity',
  'itemYear',
  'itemMeanRating',
  'allTimes',
] as const;
const raggedKeys = ['itemGenres', 'itemTimes'] as const;

const kindOf = (a: FlatArray): Kind =>
  a instanceof Float32Array ? 'f32' : a instanceof Float64Array ? 'f64' : 'i32';

function flatten(rows: readonly FlatArray[], kind: Kind): { values: FlatArray; offsets: Int32Array } {
  const offsets = new Int32Array(rows.length + 1);
  rows.forEach((row, n) => {
    offsets[n + 1] = offsets[n] + row.length;
  });
  const values = new kinds[kind](offsets[rows.length]);
  for (const [n, row] of rows.entries()) values.set(row, offsets[n]);
  return { values, offsets };
}

export function encodeFeatureTables(t: RankingFeatureTables): Uint8Array {
  const named: [string, FlatArray][] = flatKeys.map((key) => [key, t[key]]);
  for (const key of raggedKeys) {
    const { values, offsets } = flatten(t[key], key === 'itemGenres' ? 'i32' : 'f64');
    named.push([`${key}.values`, values], [`${key}.offsets`, offsets]);
  }
  let offset = 0;
  const arrays = named.map(([name, a]) => {
    const entry = { name, kind: kindOf(a), offset, length: a.length };
    offset += Math.ceil(a.byteLength / 8) * 8;
    return entry;
  });
  const layout: Layout = { names: t.names, genres: t.genres, nItems: t.nItems, signals: t.signals, arrays };
  const header = new TextEncoder().encode(JSON.stringify(layout));
  const start = Math.ceil((4 + header.length) / 8) * 8;
  const bytes = new Uint8Array(start + offset);
  new DataView(bytes.buffer).setUint32(0, header.length, true);
  bytes.set(header, 4);
  for (const [n, [, a]] of named.entries())
    bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), start + arrays[n].offset);
  return bytes;
}

export function decodeFeatureTables(bytes: Uint8Array): RankingFeatureTables {
  // Copied so every array is aligned, wherever the artifact's bytes sit.
  const own = Uint8Array.from(bytes);
  const headerLength = new DataView(own.buffer).getUint32(0, true);
  const layout = JSON.parse(new TextDecoder().decode(own.subarray(4, 4 + headerLength))) as Layout;
  const start = Math.ceil((4 + headerLength) / 8) * 8;
  const arrays = new Map(
    layout.arrays.map(({ name, kind, offset, length }) => [
      name,
      new kinds[kind](own.buffer, start + offset, length) as FlatArray,
    ]),
  );
  const array = <T extends FlatArray>(name: string): T => {
    const a = arrays.get(name);
    if (a === undefined) throw new Error(`ranker feature tables: no ${name}`);
    return a as T;
  };
  const rows = <T extends FlatArray>(key: string): T[] => {
    const values = array<T>(`${key}.values`);
    const offsets = array<Int32Array>(`${key}.offsets`);
    return Array.from(
      { length: offsets.length - 1 },
      (_, n) => values.subarray(offsets[n], offsets[n + 1]) as T,
    );
  };
  return {
    names: layout.names,
    genres: layout.genres,
    nItems: layout.nItems,
    signals: layout.signals,
    userAge: array('userAge'),
    userGender: array('userGender'),
    userOccupation: array('userOccupation'),
    userActivity: array('userActivity'),
    userMeanRating: array('userMeanRating'),
    userMeanYear: array('userMeanYear'),
    userGenreShare: array('userGenreShare'),
    userLastTime: array('userLastTime'),
    itemPopularity: array('itemPopularity'),
    itemYear: array('itemYear'),
    itemMeanRating: array('itemMeanRating'),
    itemGenres: rows('itemGenres'),
    itemTimes: rows('itemTimes'),
    allTimes: array('allTimes'),
  };
}

/**
 * Side information as tower inputs: demographics for users, content (genres,
 * release year, title words) for items. Vocabularies come from the side
 * information itself, sorted, so feature columns do not depend on input order.
 */
import { ageBand } from '../popularity';
import type { Demographics } from '../types';

export interface ItemContent {
  readonly title: string;
  /** Unknown release years are null (ML-100K has a few). */
  readonly year: number | null;
  readonly genres: readonly string[];
}

export interface SideInformation {
  readonly demographics: ReadonlyMap<string, Demographics>;
  readonly content: ReadonlyMap<string, ItemContent>;
}

/** `ageBand` returns 0..n-1 and maps any age beyond the last bound to n-1. */
const AGE_BANDS = ageBand(Number.POSITIVE_INFINITY) + 1;

/**
 * ML-100K is mostly 1990s releases, so the last decade is split by year and
 * older films share coarse buckets. The extra last bucket is "unknown".
 */
const YEAR_BUCKET_LOWER_BOUNDS = [1930, 1950, 1960, 1970, 1980, 1985, 1990, 1993, 1995, 1996, 1997, 1998];
export const YEAR_BUCKETS = YEAR_BUCKET_LOWER_BOUNDS.length + 2;

export function yearBucket(year: number | null): number {
  if (year === null) return YEAR_BUCKETS - 1;
  let bucket = 0;
  while (bucket < YEAR_BUCKET_LOWER_BOUNDS.length && year >= YEAR_BUCKET_LOWER_BOUNDS[bucket]) bucket++;
  return bucket;
}

/** Words that appear across unrelated titles and would only add hash collisions. */
const TITLE_STOPWORDS = new Set([
  'the',
  'a',
  'an',
  'of',
  'and',
  'in',
  'on',
  'to',
  'for',
  'la',
  'le',
  'les',
  'de',
]);

/**
 * Hashed title words (FNV-1a into `vocabulary` buckets). Sequels and series
 * share words ("Die Hard", "Star Trek"), which is what lets a cold title land
 * near its relatives. A trailing "(1995)" is dropped: the year is its own feature.
 */
export function titleTokens(title: string, vocabulary: number): number[] {
  const words = title
    .toLowerCase()
    .replace(/\(\d{4}\)\s*$/, '')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0 && !TITLE_STOPWORDS.has(w));
  return words.map((w) => fnv1a(w) % vocabulary);
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let n = 0; n < text.length; n++) {
    hash ^= text.charCodeAt(n);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The vocabularies a fitted model's columns were laid out from, as a release records them. */
export interface VocabularyLists {
  genders: readonly string[];
  occupations: readonly string[];
  genres: readonly string[];
}

/** Column layout of the one-hot / multi-hot side features. */
export class FeatureVocabulary implements VocabularyLists {
  readonly demographicsWidth: number;
  readonly contentWidth: number;

  private constructor(
    readonly genders: readonly string[],
    readonly occupations: readonly string[],
    readonly genres: readonly string[],
  ) {
    this.demographicsWidth = AGE_BANDS + genders.length + occupations.length;
    this.contentWidth = genres.length + YEAR_BUCKETS;
  }

  static of(side: SideInformation): FeatureVocabulary {
    const sorted = (values: Iterable<string>) => [...new Set(values)].sort();
    const people = [...side.demographics.values()];
    return new FeatureVocabulary(
      sorted(people.map((d) => d.gender)),
      sorted(people.map((d) => d.occupation)),
      sorted([...side.content.values()].flatMap((c) => c.genres)),
    );
  }

  static fromLists(lists: VocabularyLists): FeatureVocabulary {
    return new FeatureVocabulary(lists.genders, lists.occupations, lists.genres);
  }

  /** Writes age band, gender and occupation one-hots; a user without demographics stays all-zero. */
  encodeDemographics(d: Demographics | undefined, out: Float32Array, offset: number): void {
    this.encodeCohort(d && { band: ageBand(d.age), gender: d.gender, occupation: d.occupation }, out, offset);
  }

  /**
   * The same columns from what serving knows of a user, the age band rather than the age; a
   * missing part (or one this vocabulary never saw) leaves its columns zero.
   */
  encodeCohort(
    c: { band?: number; gender?: string; occupation?: string } | undefined,
    out: Float32Array,
    offset: number,
  ): void {
    out.fill(0, offset, offset + this.demographicsWidth);
    if (!c) return;
    if (c.band !== undefined && c.band >= 0 && c.band < AGE_BANDS) out[offset + c.band] = 1;
    const gender = c.gender === undefined ? -1 : this.genders.indexOf(c.gender);
    if (gender >= 0) out[offset + AGE_BANDS + gender] = 1;
    const occupation = c.occupation === undefined ? -1 : this.occupations.indexOf(c.occupation);
    if (occupation >= 0) out[offset + AGE_BANDS + this.genders.length + occupation] = 1;
  }

  /** Writes the genre multi-hot and the year-bucket one-hot. */
  encodeContent(c: ItemContent | undefined, out: Float32Array, offset: number): void {
    out.fill(0, offset, offset + this.contentWidth);
    if (!c) return;
    for (const genre of c.genres) {
      const column = this.genres.indexOf(genre);
      if (column >= 0) out[offset + column] = 1;
    }
    out[offset + this.genres.length + yearBucket(c.year)] = 1;
  }
}

/**
 * A seeded synthetic dataset for scale work (ingestion, iALS, ES backfill) at sizes MovieLens
 * cannot reach. Everything is streamed: only per-item and per-user sampling tables are held
 * (about 32 bytes per item and 16 per user, twice that while they are built), never the events
 * themselves. The same config always yields the same items, users and interactions, whatever
 * the batch size.
 *
 * The interactions carry signal on purpose: item popularity is Zipfian, user activity is
 * Pareto-tailed, and each user has 1-3 favourite categories they draw from with a configurable
 * probability, so a recommender that learns anything beats a popularity baseline.
 */
import { z } from 'zod';
import {
  type CatalogEvent,
  type Interaction,
  type InteractionType,
  interactionTypes,
  surfaces,
  type UserEvent,
} from '../../schemas/events';

const DAY_MS = 86_400_000;

export const syntheticConfigSchema = z
  .object({
    seed: z.number().int().min(0).max(0xffff_ffff).default(1),
    itemCount: z.number().int().min(1).max(1_000_000).default(10_000),
    userCount: z.number().int().min(1).max(10_000_000).default(10_000),
    interactionCount: z.number().int().min(1).max(10_000_000).default(100_000),
    /** Item popularity ∝ 1 / rank^s; 0 is uniform, ~1 is typical of catalogues. */
    zipfExponent: z.number().min(0).max(4).default(1),
    /** Pareto shape of per-user activity; smaller is heavier-tailed (below 1 one user can dominate). */
    userActivityShape: z.number().min(0.5).max(20).default(1.5),
    /** Chance an interaction is drawn from one of the user's favourite categories. */
    favouriteCategoryProbability: z.number().min(0).max(1).default(0.7),
    /** First interaction time (epoch ms); items and users are created in the 30 days before. */
    startAt: z
      .number()
      .int()
      .min(Date.UTC(2000, 0, 1), 'startAt must be epoch milliseconds on or after 2000-01-01')
      .max(Date.UTC(2100, 0, 1), 'startAt must be epoch milliseconds before 2100')
      .default(Date.UTC(2024, 0, 1)),
    timeSpanMs: z
      .number()
      .int()
      .min(1)
      .max(50 * 365 * DAY_MS)
      .default(90 * DAY_MS),
  })
  .strict();
export type SyntheticConfigInput = z.input<typeof syntheticConfigSchema>;
export type SyntheticConfig = z.output<typeof syntheticConfigSchema>;

export class SyntheticConfigError extends Error {
  constructor(readonly zodError: z.ZodError) {
    super(`invalid synthetic dataset config:\n${z.prettifyError(zodError)}`);
    this.name = 'SyntheticConfigError';
  }
}

export function parseSyntheticConfig(input: SyntheticConfigInput = {}): SyntheticConfig {
  const parsed = syntheticConfigSchema.safeParse(input);
  if (!parsed.success) throw new SyntheticConfigError(parsed.error);
  return parsed.data;
}

export type SyntheticItem = Extract<CatalogEvent, { type: 'item_created' }>;
export type SyntheticUser = Extract<UserEvent, { type: 'user_created' }>;

/**
 * One slice of the interaction stream, column by column. `types` and `surfaces` index the
 * schema's `interactionTypes` and `surfaces`; `values` is NaN where the type carries no value.
 * Arrays are fresh per batch, so a consumer may keep them.
 */
export interface InteractionBatch {
  /** Index of the batch's first interaction in the whole stream. */
  start: number;
  users: Uint32Array;
  items: Uint32Array;
  timestamps: Float64Array;
  types: Uint8Array;
  values: Float32Array;
  surfaces: Uint8Array;
}

export const syntheticItemId = (index: number): string => `si${index}`;
export const syntheticUserId = (index: number): string => `su${index}`;

export const syntheticCategories = [
  'drama',
  'comedy',
  'action',
  'thriller',
  'romance',
  'documentary',
  'crime',
  'adventure',
  'horror',
  'sci-fi',
  'family',
  'animation',
  'fantasy',
  'mystery',
  'music',
  'history',
  'biography',
  'war',
  'sport',
  'western',
] as const;

/** One word per category that often leads a title, so item text correlates with categories. */
const categoryThemes = [
  'tears',
  'laughs',
  'chase',
  'shadow',
  'heart',
  'truth',
  'heist',
  'quest',
  'scream',
  'orbit',
  'home',
  'cartoon',
  'dragon',
  'clue',
  'song',
  'empire',
  'life',
  'battle',
  'champion',
  'frontier',
];

// biome-ignore format: a word list reads better packed
const vocabulary = [
  'amber', 'river', 'echo', 'silent', 'north', 'glass', 'winter', 'crimson', 'harbor', 'iron',
  'lantern', 'midnight', 'garden', 'stone', 'velvet', 'storm', 'hollow', 'golden', 'last', 'first',
  'paper', 'city', 'dust', 'mirror', 'wild', 'distant', 'broken', 'secret', 'summer', 'falling',
  'bright', 'lost', 'little', 'great', 'blue', 'road', 'night', 'morning', 'island', 'forest',
  'signal', 'engine', 'letter', 'bridge', 'crown', 'tide', 'ember', 'feather', 'canyon', 'orchard',
  'machine', 'voyage', 'promise', 'whisper', 'thunder', 'salt', 'copper', 'horizon', 'neon', 'willow',
  'station', 'meadow', 'ghost', 'paradise',
];

// biome-ignore format: a word list reads better packed
const occupations = [
  'student', 'other', 'educator', 'engineer', 'programmer', 'administrator', 'writer', 'librarian',
  'technician', 'executive', 'marketing', 'artist', 'healthcare', 'scientist', 'entertainment',
  'salesman', 'lawyer', 'none', 'doctor', 'homemaker', 'retired',
];
/** Roughly MovieLens 100K's occupation shares, student the most common. */
const occupationWeights = cumulative([
  196, 105, 95, 67, 66, 79, 45, 51, 27, 32, 26, 28, 16, 31, 18, 12, 12, 9, 7, 9, 14,
]);

const countries = ['US', 'GB', 'DE', 'FR', 'IN', 'BR', 'CA', 'JP', 'ES', 'IT', 'MX', 'AU', 'NL', 'SE', 'PL'];
const countryWeights = cumulative([35, 8, 7, 6, 8, 6, 5, 5, 4, 4, 3, 3, 2, 2, 2]);

/** Age bands [from, to] and their shares: a streaming audience, mostly 18-44. */
const ageBands = [
  [13, 17],
  [18, 24],
  [25, 34],
  [35, 44],
  [45, 54],
  [55, 64],
  [65, 90],
] as const;
const ageBandWeights = cumulative([5, 20, 33, 20, 12, 7, 3]);

const typeCode = (type: InteractionType): number => interactionTypes.indexOf(type);
const VIEW = typeCode('view');
const CLICK = typeCode('click');
const RATING = typeCode('rating');
const PURCHASE = typeCode('purchase');
/** Cumulative shares of view, click, rating, purchase: implicit feedback dominates, as in production. */
const typeThresholds = cumulative([70, 20, 7, 3]);
const typeCodes = [VIEW, CLICK, RATING, PURCHASE];

/** 'import' is left out: these events pose as live traffic, not as a backfill. */
const syntheticSurfaces: readonly (typeof surfaces)[number][] = [
  'homepage',
  'item_detail',
  'search',
  'email',
];
const surfaceCodes = syntheticSurfaces.map((s) => surfaces.indexOf(s));
const surfaceWeights = cumulative([45, 30, 15, 10]);

/** Ratings of 1..5: MovieLens-like overall, higher when the item is from a favourite category. */
const ratingWeights = cumulative([6, 11, 27, 34, 22]);
const favouriteRatingWeights = cumulative([2, 5, 18, 40, 35]);

const qualityFlagWeights = cumulative([60, 25, 15]);
const randomQualityFlags = ['low_quality', 'duplicate', 'adult'] as const;

/** Independent streams, so e.g. generating users never shifts the items a seed produces. */
const Stream = {
  itemCategories: 1,
  itemContent: 2,
  popularity: 3,
  users: 4,
  favourites: 5,
  activity: 6,
  interactions: 7,
} as const;

/**
 * xoshiro128**: 2^128 period, where mulberry32's 2^32 would already be a few percent used up
 * by the ~10 draws each of 10M interactions.
 */
class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream: number) {
    // fmix32 is a bijection, so distinct (seed, stream) pairs give distinct, never all-zero states.
    this.a = fmix32(seed ^ 0x9e3779b9);
    this.b = fmix32(stream ^ 0x85ebca6b);
    this.c = fmix32((this.a + 0x27d4eb2f) | 0) | 1;
    this.d = fmix32(this.b ^ 0x165667b1);
    for (let i = 0; i < 8; i++) this.uint32();
  }

  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.uint32() / 4294967296;
  }

  below(n: number): number {
    return Math.floor(this.float() * n);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function fmix32(input: number): number {
  let h = input | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function cumulative(weights: readonly number[]): Float64Array {
  const total = weights.reduce((sum, w) => sum + w, 0);
  const out = new Float64Array(weights.length);
  let running = 0;
  for (let i = 0; i < weights.length; i++) {
    running += weights[i];
    out[i] = running / total;
  }
  out[weights.length - 1] = 1;
  return out;
}

/** Linear scan: these tables have at most ~20 entries, where it beats a binary search. */
function pick(thresholds: Float64Array, r: number): number {
  let i = 0;
  while (r >= thresholds[i]) i++;
  return i;
}

/** Draws `count` distinct indices ∝ weights into out (weights is scratch and is modified). */
function pickDistinct(
  weights: Float64Array,
  count: number,
  random: Random,
  out: Uint8Array,
  at: number,
): void {
  for (let k = 0; k < count; k++) {
    let total = 0;
    let chosen = -1;
    for (let i = 0; i < weights.length; i++) {
      total += weights[i];
      if (weights[i] > 0) chosen = i;
    }
    // Rounding can carry r past the last positive weight; that one then stays chosen, never a taken one.
    let r = random.float() * total;
    for (let i = 0; i < weights.length; i++) {
      if (weights[i] > 0 && r < weights[i]) {
        chosen = i;
        break;
      }
      r -= weights[i];
    }
    out[at + k] = chosen;
    weights[chosen] = 0;
  }
}

/**
 * Walker/Vose alias tables: O(1) per draw where inverse-CDF would binary-search ~20 steps. Each
 * entry holds [threshold, outcome, alias outcome] side by side because at 1M items and users the
 * tables outgrow the CPU cache, and one cache miss per draw instead of three is most of the
 * generator's speed. Thresholds are in units of 2^-32, compared with a raw 32-bit draw.
 */
const ENTRY = 3;

function buildAlias(weights: Float64Array, outcomes: Uint32Array | null, table: Uint32Array): void {
  const n = weights.length;
  const outcome = (i: number) => (outcomes === null ? i : outcomes[i]);
  const set = (i: number, probability: number, alias: number) => {
    table[i * ENTRY] = Math.min(Math.floor(probability * 4294967296), 0xffff_ffff);
    table[i * ENTRY + 1] = outcome(i);
    table[i * ENTRY + 2] = outcome(alias);
  };
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i];
  const scaled = new Float64Array(n);
  // Small indices stack up from the front, large ones down from the back: one array for both.
  const work = new Uint32Array(n);
  let small = 0;
  let large = n;
  for (let i = 0; i < n; i++) {
    scaled[i] = (weights[i] * n) / total;
    if (scaled[i] < 1) work[small++] = i;
    else work[--large] = i;
  }
  while (small > 0 && large < n) {
    const s = work[--small];
    const l = work[large++];
    set(s, scaled[s], l);
    scaled[l] = scaled[l] + scaled[s] - 1;
    if (scaled[l] < 1) work[small++] = l;
    else work[--large] = l;
  }
  // Whatever is left is 1 up to rounding: its alias is itself, so the threshold cannot matter.
  while (small > 0) {
    const i = work[--small];
    set(i, 1, i);
  }
  while (large < n) {
    const i = work[large++];
    set(i, 1, i);
  }
}

function aliasTable(weights: Float64Array): Uint32Array {
  const table = new Uint32Array(weights.length * ENTRY);
  buildAlias(weights, null, table);
  return table;
}

const MAX_CATEGORIES_PER_ITEM = 3;
const MAX_FAVOURITES = 3;
const categoryZipf = syntheticCategories.map((_, rank) => 1 / (rank + 1));
const categoryCountWeights = cumulative([50, 35, 15]);
const favouriteCountWeights = cumulative([40, 40, 20]);

/** Item i's categories go to out[3i ..]; returns how many. Shared by items and the interaction world. */
function drawItemCategories(random: Random, scratch: Float64Array, out: Uint8Array, at: number): number {
  const count = pick(categoryCountWeights, random.float()) + 1;
  scratch.set(categoryZipf);
  pickDistinct(scratch, count, random, out, at);
  return count;
}

/** Everything interaction sampling needs, held as typed arrays sized by items and users. */
interface World {
  items: Uint32Array;
  users: Uint32Array;
  /** Category c's alias entries are categoryStart[c] .. categoryStart[c + 1], outcomes being item indices. */
  categoryStart: Uint32Array;
  categories: Uint32Array;
  /** Per user: favourite count in the low byte, then up to three category indices, a byte each. */
  favourites: Uint32Array;
}

function buildWorld(config: SyntheticConfig): World {
  const { seed, itemCount, userCount } = config;
  const categoryCount = syntheticCategories.length;

  // Popularity ranks are shuffled so that an item's id says nothing about how popular it is.
  const rank = new Uint32Array(itemCount);
  for (let i = 0; i < itemCount; i++) rank[i] = i;
  const popularity = new Random(seed, Stream.popularity);
  for (let i = itemCount - 1; i > 0; i--) {
    const j = popularity.below(i + 1);
    const tmp = rank[i];
    rank[i] = rank[j];
    rank[j] = tmp;
  }
  const itemWeights = new Float64Array(itemCount);
  for (let i = 0; i < itemCount; i++) itemWeights[i] = (rank[i] + 1) ** -config.zipfExponent;

  const itemCategories = new Uint8Array(itemCount * MAX_CATEGORIES_PER_ITEM);
  const itemCategoryCount = new Uint8Array(itemCount);
  const categorySize = new Uint32Array(categoryCount);
  const categoryRandom = new Random(seed, Stream.itemCategories);
  const scratch = new Float64Array(categoryCount);
  for (let i = 0; i < itemCount; i++) {
    const at = i * MAX_CATEGORIES_PER_ITEM;
    const count = drawItemCategories(categoryRandom, scratch, itemCategories, at);
    itemCategoryCount[i] = count;
    for (let k = 0; k < count; k++) categorySize[itemCategories[at + k]]++;
  }
  const categoryStart = new Uint32Array(categoryCount + 1);
  for (let c = 0; c < categoryCount; c++) categoryStart[c + 1] = categoryStart[c] + categorySize[c];
  const members = new Uint32Array(categoryStart[categoryCount]);
  const fill = categoryStart.slice(0, categoryCount);
  for (let i = 0; i < itemCount; i++) {
    for (let k = 0; k < itemCategoryCount[i]; k++)
      members[fill[itemCategories[i * MAX_CATEGORIES_PER_ITEM + k]]++] = i;
  }
  const categories = new Uint32Array(members.length * ENTRY);
  for (let c = 0; c < categoryCount; c++) {
    const from = categoryStart[c];
    const to = categoryStart[c + 1];
    if (from === to) continue;
    const weights = new Float64Array(to - from);
    for (let k = from; k < to; k++) weights[k - from] = itemWeights[members[k]];
    buildAlias(weights, members.subarray(from, to), categories.subarray(from * ENTRY, to * ENTRY));
  }

  const activity = new Random(seed, Stream.activity);
  const userWeights = new Float64Array(userCount);
  const inverseShape = -1 / config.userActivityShape;
  for (let u = 0; u < userCount; u++) userWeights[u] = (1 - activity.float()) ** inverseShape;

  // Fans ∝ √(category size): half-way between the catalogue's skew and every category equally
  // liked, so niche categories still have devoted users.
  const fanWeights = Float64Array.from(categorySize, Math.sqrt);
  const nonEmpty = categorySize.filter((size) => size > 0).length;
  const favourites = new Uint32Array(userCount);
  const favouriteRandom = new Random(seed, Stream.favourites);
  const drawn = new Uint8Array(MAX_FAVOURITES);
  for (let u = 0; u < userCount; u++) {
    const count = Math.min(pick(favouriteCountWeights, favouriteRandom.float()) + 1, nonEmpty);
    scratch.set(fanWeights);
    pickDistinct(scratch, count, favouriteRandom, drawn, 0);
    let packed = count;
    for (let k = 0; k < count; k++) packed |= drawn[k] << (8 * (k + 1));
    favourites[u] = packed;
  }

  return {
    items: aliasTable(itemWeights),
    users: aliasTable(userWeights),
    categoryStart,
    categories,
    favourites,
  };
}

/** The item catalogue as `item_created` events, one per item id si0 .. si<itemCount-1>. */
export function syntheticItems(input: SyntheticConfigInput = {}): Generator<SyntheticItem> {
  return itemsFrom(parseSyntheticConfig(input));
}

function* itemsFrom(config: SyntheticConfig): Generator<SyntheticItem> {
  const { seed, itemCount, startAt } = config;
  const categoryRandom = new Random(seed, Stream.itemCategories);
  const content = new Random(seed, Stream.itemContent);
  const scratch = new Float64Array(syntheticCategories.length);
  const drawn = new Uint8Array(MAX_CATEGORIES_PER_ITEM);
  const latestYear = new Date(startAt).getUTCFullYear();
  const lead = 30 * DAY_MS;
  for (let i = 0; i < itemCount; i++) {
    const count = drawItemCategories(categoryRandom, scratch, drawn, 0);
    const categories: string[] = [];
    for (let k = 0; k < count; k++) categories.push(syntheticCategories[drawn[k]]);

    const words: string[] = [];
    if (content.float() < 0.5) words.push(categoryThemes[drawn[0]]);
    const extra = 1 + content.below(3);
    for (let k = 0; k < extra; k++) words.push(vocabulary[content.below(vocabulary.length)]);

    const qualityFlags: SyntheticItem['qualityFlags'] = [];
    let year: number | null = null;
    if (content.float() < 0.01) qualityFlags.push('missing_metadata');
    else year = Math.max(1920, latestYear - Math.floor(-Math.log(1 - content.float()) * 12));
    if (content.float() < 0.02)
      qualityFlags.push(randomQualityFlags[pick(qualityFlagWeights, content.float())]);

    yield {
      eventId: `syn:${seed}:item:${i}`,
      type: 'item_created',
      itemId: syntheticItemId(i),
      occurredAt: startAt - lead + Math.floor((i * lead) / itemCount),
      title: words.join(' '),
      categories,
      year,
      text: '',
      qualityFlags,
    };
  }
}

/** Users as `user_created` events with MovieLens-like demographics, ids su0 .. su<userCount-1>. */
export function syntheticUsers(input: SyntheticConfigInput = {}): Generator<SyntheticUser> {
  return usersFrom(parseSyntheticConfig(input));
}

function* usersFrom(config: SyntheticConfig): Generator<SyntheticUser> {
  const { seed, userCount, startAt } = config;
  const random = new Random(seed, Stream.users);
  const lead = 30 * DAY_MS;
  for (let u = 0; u < userCount; u++) {
    const [from, to] = ageBands[pick(ageBandWeights, random.float())];
    const age = from + random.below(to - from + 1);
    const gender = random.float() < 0.6 ? 'M' : 'F';
    let occupation = occupations[pick(occupationWeights, random.float())];
    // Age and occupation disagree badly in uniform draws (a retired 19-year-old); nudge the ends.
    const nudge = random.float();
    if (age >= 62 && nudge < 0.6) occupation = 'retired';
    else if (age <= 20 && nudge < 0.7) occupation = 'student';
    else if (occupation === 'retired' && age < 50) occupation = 'other';
    const country = countries[pick(countryWeights, random.float())];
    yield {
      eventId: `syn:${seed}:user:${u}`,
      type: 'user_created',
      userId: syntheticUserId(u),
      occurredAt: startAt - lead + Math.floor((u * lead) / userCount),
      demographics: { age, gender, occupation, country },
    };
  }
}

const batchOptionsSchema = z.object({ batchSize: z.number().int().min(1).max(10_000_000) });

/**
 * The interaction stream in columns, `batchSize` at a time (the last batch may be shorter).
 * Timestamps are non-decreasing across the whole stream, within [startAt, startAt + timeSpanMs].
 */
export function syntheticInteractionBatches(
  input: SyntheticConfigInput = {},
  batchSize = 65_536,
): Generator<InteractionBatch> {
  const config = parseSyntheticConfig(input);
  const options = batchOptionsSchema.safeParse({ batchSize });
  if (!options.success) throw new SyntheticConfigError(options.error);
  return batchesFrom(config, options.data.batchSize);
}

/** Random draws per interaction, fixed so that the stream never depends on how it is cut. */
const DRAWS = 10;
/**
 * Interactions are resolved a chunk at a time, one table per pass: within a pass the lookups are
 * independent, so the CPU overlaps their cache misses instead of waiting on user → favourite →
 * item one event at a time: about a third faster at 1M items and users.
 */
const CHUNK = 4096;
const UNIT = 1 / 4294967296;

function* batchesFrom(config: SyntheticConfig, batchSize: number): Generator<InteractionBatch> {
  const { items, users, categoryStart, categories, favourites } = buildWorld(config);
  const { interactionCount, itemCount, userCount, startAt } = config;
  const random = new Random(config.seed, Stream.interactions);
  const step = config.timeSpanMs / interactionCount;
  const favouriteThreshold = config.favouriteCategoryProbability * 4294967296;
  const draws = new Uint32Array(CHUNK * DRAWS);
  /** The favourite category each event draws from, or -1 for the global popularity. */
  const drawnCategory = new Int8Array(CHUNK);

  for (let start = 0; start < interactionCount; start += batchSize) {
    const length = Math.min(batchSize, interactionCount - start);
    const batch: InteractionBatch = {
      start,
      users: new Uint32Array(length),
      items: new Uint32Array(length),
      timestamps: new Float64Array(length),
      types: new Uint8Array(length),
      values: new Float32Array(length),
      surfaces: new Uint8Array(length),
    };
    for (let chunk = 0; chunk < length; chunk += CHUNK) {
      const n = Math.min(CHUNK, length - chunk);
      for (let j = 0; j < n * DRAWS; j++) draws[j] = random.uint32();

      for (let j = 0; j < n; j++) {
        const d = j * DRAWS;
        const e = Math.floor(draws[d] * UNIT * userCount) * ENTRY;
        batch.users[chunk + j] = draws[d + 1] < users[e] ? users[e + 1] : users[e + 2];
      }

      for (let j = 0; j < n; j++) {
        const d = j * DRAWS;
        if (draws[d + 2] >= favouriteThreshold) {
          drawnCategory[j] = -1;
          continue;
        }
        const packed = favourites[batch.users[chunk + j]];
        const slot = 1 + Math.floor(draws[d + 3] * UNIT * (packed & 0xff));
        drawnCategory[j] = (packed >>> (8 * slot)) & 0xff;
      }

      for (let j = 0; j < n; j++) {
        const d = j * DRAWS;
        const k = chunk + j;
        const category = drawnCategory[j];
        let table = items;
        let e: number;
        if (category < 0) e = Math.floor(draws[d + 4] * UNIT * itemCount) * ENTRY;
        else {
          const from = categoryStart[category];
          e = (from + Math.floor(draws[d + 4] * UNIT * (categoryStart[category + 1] - from))) * ENTRY;
          table = categories;
        }
        batch.items[k] = draws[d + 5] < table[e] ? table[e + 1] : table[e + 2];

        const type = typeCodes[pick(typeThresholds, draws[d + 6] * UNIT)];
        batch.types[k] = type;
        const ratings = category < 0 ? ratingWeights : favouriteRatingWeights;
        batch.values[k] = type === RATING ? pick(ratings, draws[d + 7] * UNIT) + 1 : Number.NaN;
        batch.surfaces[k] = surfaceCodes[pick(surfaceWeights, draws[d + 8] * UNIT)];
        // Slot n of the span plus jitter inside it: increasing overall, with no sort and no state.
        batch.timestamps[k] = startAt + Math.floor((start + k + draws[d + 9] * UNIT) * step);
      }
    }
    yield batch;
  }
}

/** The interaction stream as schema-valid events with ids `syn:<seed>:<n>`. */
export function syntheticInteractions(input: SyntheticConfigInput = {}): Generator<Interaction> {
  return interactionsFrom(parseSyntheticConfig(input));
}

function* interactionsFrom(config: SyntheticConfig): Generator<Interaction> {
  const prefix = `syn:${config.seed}:`;
  for (const batch of batchesFrom(config, 4096)) {
    for (let k = 0; k < batch.users.length; k++) {
      const eventId = prefix + (batch.start + k);
      const userId = syntheticUserId(batch.users[k]);
      const itemId = syntheticItemId(batch.items[k]);
      const occurredAt = batch.timestamps[k];
      const surface = surfaces[batch.surfaces[k]];
      const type = interactionTypes[batch.types[k]];
      // Literals rather than spreading a shared base: object spread is the slowest part of this loop.
      if (type === 'rating' || type === 'watch_completion') {
        yield { eventId, type, userId, itemId, occurredAt, surface, value: batch.values[k] };
      } else yield { eventId, type, userId, itemId, occurredAt, surface };
    }
  }
}

/**
 * Item embeddings with the structure real ones have (items cluster around their genres), for
 * index and recall work at scale: `clusters` centroids, each item a centroid plus noise.
 * Uniform random vectors would be a needlessly adversarial case for HNSW.
 */
export function syntheticItemVectors(count: number, dims: number, seed = 1, clusters = 256): Float32Array {
  const random = new Random(seed, 8);
  const gaussian = () =>
    Math.sqrt(-2 * Math.log(1 - random.float())) * Math.cos(2 * Math.PI * random.float());
  const centroids = Float32Array.from({ length: clusters * dims }, gaussian);
  const vectors = new Float32Array(count * dims);
  for (let i = 0; i < count; i++) {
    const c = random.below(clusters);
    for (let d = 0; d < dims; d++) vectors[i * dims + d] = centroids[c * dims + d] + 0.5 * gaussian();
  }
  return vectors;
}

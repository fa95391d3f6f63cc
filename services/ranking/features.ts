/**
 * Ranking features per (user, item, request): user, item, user × genre affinity, the scores and
 * ranks that candidate models gave the item, and the request's context. Every statistic is
 * computed from the training interactions the builder is given, never from held-out ones.
 */
import { setImmediate } from 'node:timers/promises';
import { surfaces } from '../../schemas/events';
import type { InteractionMatrix } from '../models/interaction-matrix';
import { countGreater } from '../models/recency';
import type { CandidateModel, Demographics, Interaction } from '../models/types';

export type Surface = (typeof surfaces)[number];

export interface CatalogItem {
  /** Release year; null when the catalogue does not know it. */
  year: number | null;
  genres: readonly string[];
}

export interface RequestContext {
  surface: Surface;
  /** Epoch seconds, like `Interaction.timestamp`. */
  time: number;
}

/** How far back "trending" looks from the request time. */
export const TREND_WINDOW_SECONDS = 30 * 86_400;

const BASE_FEATURES = [
  'user_age',
  'user_gender',
  'user_occupation',
  'user_activity',
  'user_mean_rating',
  'user_mean_item_year',
  'item_popularity',
  'item_trend',
  'item_year',
  'item_year_gap',
  'item_mean_rating',
  'genre_affinity_mean',
  'genre_affinity_max',
  'context_surface',
  'context_hour',
] as const;

/**
 * One candidate model's view of one user: its scores, standardised over the whole catalogue so
 * users are on one scale, as the score blend does. Ranks are taken among the candidates
 * (`fillFeatureRows`), so nothing here needs the catalogue sorted, and a factor model's moments
 * come from its item factors (`FactorMoments`) without scoring the catalogue at all.
 */
export class SignalScores {
  private constructor(
    readonly score: (item: number) => number,
    private readonly mean: number,
    private readonly inverseStd: number,
  ) {}

  /** From the user's scores of every item. */
  static over(scores: Float32Array): SignalScores {
    let sum = 0;
    let sumSquares = 0;
    for (let i = 0; i < scores.length; i++) {
      sum += scores[i];
      sumSquares += scores[i] * scores[i];
    }
    const mean = sum / scores.length;
    const std = Math.sqrt(Math.max(0, sumSquares / scores.length - mean * mean));
    return new SignalScores((item) => scores[item], mean, std > 0 ? 1 / std : 0);
  }

  static of(model: CandidateModel, user: number, train: InteractionMatrix): SignalScores {
    const scores = new Float32Array(train.nItems);
    model.scoreUser(user, scores);
    return SignalScores.over(scores);
  }

  /** A factor model's scores (user vector · item vectors), standardised by the factors' moments. */
  static ofFactors(user: Float32Array, items: Float32Array, moments: FactorMoments): SignalScores {
    const dims = user.length;
    const score = (item: number) => {
      let dot = 0;
      for (let d = 0, base = item * dims; d < dims; d++) dot += user[d] * items[base + d];
      return dot;
    };
    const std = Math.sqrt(moments.variance(user));
    return new SignalScores(score, moments.mean(user), std > 0 ? 1 / std : 0);
  }

  standardised(item: number): number {
    return (this.score(item) - this.mean) * this.inverseStd;
  }
}

/**
 * The mean and covariance of a catalogue's item factors: over the catalogue, the scores u·v
 * have mean u·μ and variance uᵀΣu, exactly, at O(dims²) per user instead of O(items · dims).
 */
export class FactorMoments {
  private constructor(
    private readonly centre: Float64Array,
    private readonly covariance: Float64Array,
  ) {}

  /** Over the first `count` rows of `vectors` (row-major, `dims` wide). */
  static of(vectors: Float32Array, dims: number, count: number): FactorMoments {
    const sums = momentSums(dims);
    addRows(sums, vectors, 0, count);
    return FactorMoments.from(sums, count);
  }

  /**
   * The same, a slice of rows at a time between turns of the event loop: at a million items × 64
   * dimensions the sums are ~2G multiply-adds, seconds that a serving replica loading a release
   * must not take from the requests it is answering meanwhile.
   */
  static async yielding(vectors: Float32Array, dims: number, count: number, rowsPerSlice = 16_384) {
    const sums = momentSums(dims);
    for (let from = 0; from < count; from += rowsPerSlice) {
      addRows(sums, vectors, from, Math.min(count, from + rowsPerSlice));
      await setImmediate();
    }
    return FactorMoments.from(sums, count);
  }

  private static from({ dims, centre, second }: MomentSums, count: number): FactorMoments {
    const n = Math.max(1, count);
    for (let a = 0; a < dims; a++) centre[a] /= n;
    for (let a = 0; a < dims; a++)
      for (let b = a; b < dims; b++) {
        const c = second[a * dims + b] / n - centre[a] * centre[b];
        second[a * dims + b] = c;
        second[b * dims + a] = c;
      }
    return new FactorMoments(centre, second);
  }

  mean(user: Float32Array): number {
    let dot = 0;
    for (let d = 0; d < user.length; d++) dot += user[d] * this.centre[d];
    return dot;
  }

  variance(user: Float32Array): number {
    const dims = user.length;
    let total = 0;
    for (let a = 0; a < dims; a++) {
      let row = 0;
      for (let b = 0; b < dims; b++) row += this.covariance[a * dims + b] * user[b];
      total += user[a] * row;
    }
    return Math.max(0, total);
  }
}

interface MomentSums {
  dims: number;
  centre: Float64Array;
  /** Upper triangle of Σ v vᵀ, row-major. */
  second: Float64Array;
}

const momentSums = (dims: number): MomentSums => ({
  dims,
  centre: new Float64Array(dims),
  second: new Float64Array(dims * dims),
});

function addRows(
  { dims, centre, second }: MomentSums,
  vectors: Float32Array,
  from: number,
  to: number,
): void {
  for (let i = from, base = from * dims; i < to; i++, base += dims)
    for (let a = 0; a < dims; a++) {
      const x = vectors[base + a];
      centre[a] += x;
      for (let b = a; b < dims; b++) second[a * dims + b] += x * vectors[base + b];
    }
}

/**
 * Visits every rated training interaction with its user and item index in the feature matrix:
 * from objects offline, from the snapshot's columns in the retrain, with no object per event.
 */
export type Ratings = (visit: (user: number, item: number, rating: number) => void) => void;

/** The ratings of interaction objects; those without one are left out. */
export function ratingsOf(interactions: readonly Interaction[], train: InteractionMatrix): Ratings {
  return (visit) => {
    for (const x of interactions)
      if (x.rating !== undefined) visit(train.users.require(x.user), train.items.require(x.item), x.rating);
  };
}

export interface FeatureSources {
  train: InteractionMatrix;
  /** The ratings of the interactions `train` was built from: they feed the rating averages. */
  ratings: Ratings;
  catalog: ReadonlyMap<string, CatalogItem>;
  demographics: ReadonlyMap<string, Demographics>;
  /** Names of the candidate models whose scores become features, in `fill`'s order. */
  signals: readonly string[];
}

/** Sorted ascending so a window count is two binary searches. */
function timesByItem(train: InteractionMatrix): Float64Array[] {
  const times: Float64Array[] = [];
  for (let i = 0; i < train.nItems; i++) {
    const row = new Float64Array(train.itemPtr[i + 1] - train.itemPtr[i]);
    for (let n = 0; n < row.length; n++) row[n] = train.userTimes[train.itemEntries[train.itemPtr[i] + n]];
    times.push(row.sort());
  }
  return times;
}

/** Entries of an ascending array within (from, to]. */
function countWithin(sorted: Float64Array, from: number, to: number): number {
  return upperBound(sorted, to) - upperBound(sorted, from);
}

function upperBound(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function meanOrNaN(sum: number, count: number): number {
  return count === 0 ? Number.NaN : sum / count;
}

/** What feature rows are computed from: per-user and per-item tables, publishable with a release. */
export interface RankingFeatureTables {
  names: string[];
  genres: string[];
  nItems: number;
  /** Signals `fill` expects, in `FeatureSources.signals` order. */
  signals: number;
  userAge: Float32Array;
  userGender: Float32Array;
  userOccupation: Float32Array;
  userActivity: Float32Array;
  userMeanRating: Float32Array;
  userMeanYear: Float32Array;
  /** nUsers × nGenres: share of the user's training items that carry the genre. */
  userGenreShare: Float32Array;
  userLastTime: Float64Array;
  itemPopularity: Float32Array;
  itemYear: Float32Array;
  itemMeanRating: Float32Array;
  itemGenres: Int32Array[];
  /** Per item, its training interaction times, ascending. */
  itemTimes: Float64Array[];
  allTimes: Float64Array;
}

/**
 * Counts are divided by their mean (per user, per item) because the ranker is trained on
 * validation-train statistics and served on full-train ones, which hold a third more
 * interactions; relative values keep the two on one scale.
 */
export class RankingFeatures {
  readonly tables: RankingFeatureTables;

  get names(): readonly string[] {
    return this.tables.names;
  }

  constructor(private readonly sources: FeatureSources) {
    const { train, ratings, catalog, demographics } = sources;
    const t = { nItems: train.nItems, signals: sources.signals.length } as RankingFeatureTables;
    t.genres = [...new Set([...catalog.values()].flatMap((item) => item.genres))].sort();
    const genreIndex = new Map(t.genres.map((g, n) => [g, n]));
    t.names = [
      ...BASE_FEATURES,
      ...t.genres.map((g) => `genre_${g}`),
      ...sources.signals.flatMap((s) => [`${s}_score`, `${s}_rank`, `${s}_gap`]),
    ];

    t.itemYear = new Float32Array(train.nItems).fill(Number.NaN);
    t.itemGenres = [];
    for (let i = 0; i < train.nItems; i++) {
      const item = catalog.get(train.items.ids[i]);
      if (item?.year != null) t.itemYear[i] = item.year;
      t.itemGenres.push(Int32Array.from(item?.genres ?? [], (g) => genreIndex.get(g)!));
    }

    const occupations = [...new Set([...demographics.values()].map((d) => d.occupation))].sort();
    const occupationCode = new Map(occupations.map((o, n) => [o, n]));
    const genderCode: Readonly<Record<string, number>> = { M: 0, F: 1 };
    t.userAge = new Float32Array(train.nUsers).fill(Number.NaN);
    t.userGender = new Float32Array(train.nUsers).fill(Number.NaN);
    t.userOccupation = new Float32Array(train.nUsers).fill(Number.NaN);
    for (let u = 0; u < train.nUsers; u++) {
      const d = demographics.get(train.users.ids[u]);
      if (!d) continue;
      t.userAge[u] = d.age;
      t.userGender[u] = genderCode[d.gender] ?? Number.NaN;
      t.userOccupation[u] = occupationCode.get(d.occupation) ?? Number.NaN;
    }

    const nGenres = t.genres.length;
    const meanUserCount = train.nnz / Math.max(1, train.nUsers);
    const meanItemCount = train.nnz / Math.max(1, train.nItems);
    t.userActivity = new Float32Array(train.nUsers);
    t.userMeanYear = new Float32Array(train.nUsers);
    t.userGenreShare = new Float32Array(train.nUsers * nGenres);
    t.userLastTime = new Float64Array(train.nUsers);
    for (let u = 0; u < train.nUsers; u++) {
      const start = train.userPtr[u];
      const end = train.userPtr[u + 1];
      t.userActivity[u] = (end - start) / meanUserCount;
      let yearSum = 0;
      let yearCount = 0;
      let last = Number.NEGATIVE_INFINITY;
      for (let n = start; n < end; n++) {
        const i = train.userItems[n];
        last = Math.max(last, train.userTimes[n]);
        if (!Number.isNaN(t.itemYear[i])) {
          yearSum += t.itemYear[i];
          yearCount++;
        }
        for (const g of t.itemGenres[i]) t.userGenreShare[u * nGenres + g]++;
      }
      t.userLastTime[u] = last;
      t.userMeanYear[u] = meanOrNaN(yearSum, yearCount);
      for (let g = 0; g < nGenres; g++) t.userGenreShare[u * nGenres + g] /= Math.max(1, end - start);
    }

    t.itemPopularity = new Float32Array(train.nItems);
    for (let i = 0; i < train.nItems; i++) {
      t.itemPopularity[i] = (train.itemPtr[i + 1] - train.itemPtr[i]) / meanItemCount;
    }

    const userRatings = new Float64Array(train.nUsers * 2);
    const itemRatings = new Float64Array(train.nItems * 2);
    ratings((u, i, rating) => {
      userRatings[2 * u] += rating;
      userRatings[2 * u + 1]++;
      itemRatings[2 * i] += rating;
      itemRatings[2 * i + 1]++;
    });
    t.userMeanRating = Float32Array.from({ length: train.nUsers }, (_, u) =>
      meanOrNaN(userRatings[2 * u], userRatings[2 * u + 1]),
    );
    t.itemMeanRating = Float32Array.from({ length: train.nItems }, (_, i) =>
      meanOrNaN(itemRatings[2 * i], itemRatings[2 * i + 1]),
    );

    t.itemTimes = timesByItem(train);
    t.allTimes = Float64Array.from(train.userTimes).sort();
    this.tables = t;
  }

  get train(): InteractionMatrix {
    return this.sources.train;
  }

  /**
   * Offline replay has no logged requests, so a user's request is taken to come right after
   * their latest training interaction, on the surface that replays are attributed to.
   */
  replayContext(user: number, surface: Surface): RequestContext {
    return { surface, time: this.tables.userLastTime[user] };
  }

  /**
   * Writes one row per candidate into `out` from `offset` (row-major, `names.length` wide).
   * `signals` must follow the order of `FeatureSources.signals`.
   */
  fill(
    user: number,
    candidates: ArrayLike<number>,
    signals: readonly SignalScores[],
    context: RequestContext,
    out: Float32Array,
    offset = 0,
  ): void {
    fillFeatureRows(this.tables, user, candidates, signals, context, out, offset);
  }
}

/** `RankingFeatures.fill` over tables: what serving runs on a release's published tables. */
export function fillFeatureRows(
  t: Readonly<RankingFeatureTables>,
  user: number,
  candidates: ArrayLike<number>,
  signals: readonly SignalScores[],
  context: RequestContext,
  out: Float32Array,
  offset = 0,
): void {
  if (signals.length !== t.signals) {
    throw new Error(`ranking features: ${signals.length} signals for ${t.signals} names`);
  }
  const width = t.names.length;
  const nGenres = t.genres.length;
  const windowStart = context.time - TREND_WINDOW_SECONDS;
  const windowTotal = countWithin(t.allTimes, windowStart, context.time);
  // Trend is relative to an even spread of the window's interactions over the catalogue.
  const evenShare = windowTotal / t.nItems;
  const hour = new Date(context.time * 1000).getUTCHours();
  const surfaceCode = surfaces.indexOf(context.surface);
  const listBest = signals.map((s) => {
    let best = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < candidates.length; c++) best = Math.max(best, s.standardised(candidates[c]));
    return best;
  });
  const ranks = signals.map((s) => ranksAmong(s, candidates));
  for (let c = 0; c < candidates.length; c++) {
    const item = candidates[c];
    const row = offset + c * width;
    const genres = t.itemGenres[item];
    let affinitySum = 0;
    let affinityMax = 0;
    for (const g of genres) {
      const share = t.userGenreShare[user * nGenres + g];
      affinitySum += share;
      affinityMax = Math.max(affinityMax, share);
    }
    const hasGenres = genres.length > 0;
    let f = row;
    out[f++] = t.userAge[user];
    out[f++] = t.userGender[user];
    out[f++] = t.userOccupation[user];
    out[f++] = t.userActivity[user];
    out[f++] = t.userMeanRating[user];
    out[f++] = t.userMeanYear[user];
    out[f++] = t.itemPopularity[item];
    out[f++] =
      evenShare > 0 ? countWithin(t.itemTimes[item], windowStart, context.time) / evenShare : Number.NaN;
    out[f++] = t.itemYear[item];
    out[f++] = t.itemYear[item] - t.userMeanYear[user];
    out[f++] = t.itemMeanRating[item];
    out[f++] = hasGenres ? affinitySum / genres.length : Number.NaN;
    out[f++] = hasGenres ? affinityMax : Number.NaN;
    out[f++] = surfaceCode;
    out[f++] = hour;
    for (let g = 0; g < nGenres; g++) out[f + g] = 0;
    for (const g of genres) out[f + g] = 1;
    f += nGenres;
    for (const [n, s] of signals.entries()) {
      const z = s.standardised(item);
      out[f++] = z;
      out[f++] = ranks[n][c];
      out[f++] = z - listBest[n];
    }
  }
}

/**
 * Per candidate, how many of the other candidates the signal scores strictly higher: 0 for its
 * best. Offline the candidates are a generator's top N of the unseen items, so for that
 * generator this is its rank among all of them; serving computes the same from the same list.
 */
function ranksAmong(signal: SignalScores, candidates: ArrayLike<number>): Int32Array {
  const scores = Float64Array.from({ length: candidates.length }, (_, c) => signal.score(candidates[c]));
  const descending = Float64Array.from(scores).sort().reverse();
  return Int32Array.from(scores, (score) => countGreater(descending, score));
}

/**
 * Ranking features per (user, item, request): user, item, user × genre affinity, the scores and
 * ranks that candidate models gave the item, and the request's context. Every statistic is
 * computed from the training interactions the builder is given, never from held-out ones.
 */
import { surfaces } from '../../schemas/events';
import { type InteractionMatrix, itemsOfUser } from '../models/interaction-matrix';
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

/** One candidate model's view of one user: standardised scores and ranks among unseen items. */
export class SignalScores {
  private readonly mean: number;
  private readonly inverseStd: number;
  /** Scores of the unseen items, descending. */
  private readonly unseenDescending: Float32Array;

  constructor(
    private readonly scores: Float32Array,
    seen: Int32Array,
  ) {
    let sum = 0;
    let sumSquares = 0;
    for (let i = 0; i < scores.length; i++) {
      sum += scores[i];
      sumSquares += scores[i] * scores[i];
    }
    this.mean = sum / scores.length;
    const std = Math.sqrt(Math.max(0, sumSquares / scores.length - this.mean * this.mean));
    this.inverseStd = std > 0 ? 1 / std : 0;
    const unseen = new Float32Array(scores.length - seen.length);
    let next = 0;
    let fill = 0;
    for (let i = 0; i < scores.length; i++) {
      if (next < seen.length && seen[next] === i) next++;
      else unseen[fill++] = scores[i];
    }
    this.unseenDescending = unseen.sort().reverse();
  }

  static of(model: CandidateModel, user: number, train: InteractionMatrix): SignalScores {
    const scores = new Float32Array(train.nItems);
    model.scoreUser(user, scores);
    return new SignalScores(scores, itemsOfUser(train, user));
  }

  /** z-score over the catalogue, as the score blend uses, so users are on one scale. */
  standardised(item: number): number {
    return (this.scores[item] - this.mean) * this.inverseStd;
  }

  /** 0 for the best unseen item: how many unseen items score strictly higher. */
  rank(item: number): number {
    const s = this.scores[item];
    const sorted = this.unseenDescending;
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] > s) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export interface FeatureSources {
  train: InteractionMatrix;
  /** The interactions `train` was built from; their ratings feed the rating averages. */
  interactions: readonly Interaction[];
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

/**
 * Counts are divided by their mean (per user, per item) because the ranker is trained on
 * validation-train statistics and served on full-train ones, which hold a third more
 * interactions; relative values keep the two on one scale.
 */
export class RankingFeatures {
  readonly names: readonly string[];
  private readonly genres: readonly string[];
  private readonly userAge: Float32Array;
  private readonly userGender: Float32Array;
  private readonly userOccupation: Float32Array;
  private readonly userActivity: Float32Array;
  private readonly userMeanRating: Float32Array;
  private readonly userMeanYear: Float32Array;
  /** nUsers × nGenres: share of the user's training items that carry the genre. */
  private readonly userGenreShare: Float32Array;
  private readonly userLastTime: Float64Array;
  private readonly itemPopularity: Float32Array;
  private readonly itemYear: Float32Array;
  private readonly itemMeanRating: Float32Array;
  private readonly itemGenres: Int32Array[];
  private readonly itemTimes: Float64Array[];
  private readonly allTimes: Float64Array;

  constructor(private readonly sources: FeatureSources) {
    const { train, interactions, catalog, demographics } = sources;
    this.genres = [...new Set([...catalog.values()].flatMap((item) => item.genres))].sort();
    const genreIndex = new Map(this.genres.map((g, n) => [g, n]));
    this.names = [
      ...BASE_FEATURES,
      ...this.genres.map((g) => `genre_${g}`),
      ...sources.signals.flatMap((s) => [`${s}_score`, `${s}_rank`, `${s}_gap`]),
    ];

    this.itemYear = new Float32Array(train.nItems).fill(Number.NaN);
    this.itemGenres = [];
    for (let i = 0; i < train.nItems; i++) {
      const item = catalog.get(train.items.ids[i]);
      if (item?.year != null) this.itemYear[i] = item.year;
      this.itemGenres.push(Int32Array.from(item?.genres ?? [], (g) => genreIndex.get(g)!));
    }

    const occupations = [...new Set([...demographics.values()].map((d) => d.occupation))].sort();
    const occupationCode = new Map(occupations.map((o, n) => [o, n]));
    const genderCode: Readonly<Record<string, number>> = { M: 0, F: 1 };
    this.userAge = new Float32Array(train.nUsers).fill(Number.NaN);
    this.userGender = new Float32Array(train.nUsers).fill(Number.NaN);
    this.userOccupation = new Float32Array(train.nUsers).fill(Number.NaN);
    for (let u = 0; u < train.nUsers; u++) {
      const d = demographics.get(train.users.ids[u]);
      if (!d) continue;
      this.userAge[u] = d.age;
      this.userGender[u] = genderCode[d.gender] ?? Number.NaN;
      this.userOccupation[u] = occupationCode.get(d.occupation) ?? Number.NaN;
    }

    const nGenres = this.genres.length;
    const meanUserCount = train.nnz / Math.max(1, train.nUsers);
    const meanItemCount = train.nnz / Math.max(1, train.nItems);
    this.userActivity = new Float32Array(train.nUsers);
    this.userMeanYear = new Float32Array(train.nUsers);
    this.userGenreShare = new Float32Array(train.nUsers * nGenres);
    this.userLastTime = new Float64Array(train.nUsers);
    for (let u = 0; u < train.nUsers; u++) {
      const start = train.userPtr[u];
      const end = train.userPtr[u + 1];
      this.userActivity[u] = (end - start) / meanUserCount;
      let yearSum = 0;
      let yearCount = 0;
      let last = Number.NEGATIVE_INFINITY;
      for (let n = start; n < end; n++) {
        const i = train.userItems[n];
        last = Math.max(last, train.userTimes[n]);
        if (!Number.isNaN(this.itemYear[i])) {
          yearSum += this.itemYear[i];
          yearCount++;
        }
        for (const g of this.itemGenres[i]) this.userGenreShare[u * nGenres + g]++;
      }
      this.userLastTime[u] = last;
      this.userMeanYear[u] = meanOrNaN(yearSum, yearCount);
      for (let g = 0; g < nGenres; g++) this.userGenreShare[u * nGenres + g] /= Math.max(1, end - start);
    }

    this.itemPopularity = new Float32Array(train.nItems);
    for (let i = 0; i < train.nItems; i++) {
      this.itemPopularity[i] = (train.itemPtr[i + 1] - train.itemPtr[i]) / meanItemCount;
    }

    const userRatings = new Float64Array(train.nUsers * 2);
    const itemRatings = new Float64Array(train.nItems * 2);
    for (const x of interactions) {
      if (x.rating === undefined) continue;
      const u = train.users.require(x.user);
      const i = train.items.require(x.item);
      userRatings[2 * u] += x.rating;
      userRatings[2 * u + 1]++;
      itemRatings[2 * i] += x.rating;
      itemRatings[2 * i + 1]++;
    }
    this.userMeanRating = Float32Array.from({ length: train.nUsers }, (_, u) =>
      meanOrNaN(userRatings[2 * u], userRatings[2 * u + 1]),
    );
    this.itemMeanRating = Float32Array.from({ length: train.nItems }, (_, i) =>
      meanOrNaN(itemRatings[2 * i], itemRatings[2 * i + 1]),
    );

    this.itemTimes = timesByItem(train);
    this.allTimes = Float64Array.from(train.userTimes).sort();
  }

  get train(): InteractionMatrix {
    return this.sources.train;
  }

  /**
   * Offline replay has no logged requests, so a user's request is taken to come right after
   * their latest training interaction, on the surface that replays are attributed to.
   */
  replayContext(user: number, surface: Surface): RequestContext {
    return { surface, time: this.userLastTime[user] };
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
    if (signals.length !== this.sources.signals.length) {
      throw new Error(`ranking features: ${signals.length} signals for ${this.sources.signals.length} names`);
    }
    const width = this.names.length;
    const nGenres = this.genres.length;
    const windowStart = context.time - TREND_WINDOW_SECONDS;
    const windowTotal = countWithin(this.allTimes, windowStart, context.time);
    // Trend is relative to an even spread of the window's interactions over the catalogue.
    const evenShare = windowTotal / this.train.nItems;
    const hour = new Date(context.time * 1000).getUTCHours();
    const surfaceCode = surfaces.indexOf(context.surface);
    const listBest = signals.map((s) => {
      let best = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < candidates.length; c++) best = Math.max(best, s.standardised(candidates[c]));
      return best;
    });
    for (let c = 0; c < candidates.length; c++) {
      const item = candidates[c];
      const row = offset + c * width;
      const genres = this.itemGenres[item];
      let affinitySum = 0;
      let affinityMax = 0;
      for (const g of genres) {
        const share = this.userGenreShare[user * nGenres + g];
        affinitySum += share;
        affinityMax = Math.max(affinityMax, share);
      }
      const hasGenres = genres.length > 0;
      let f = row;
      out[f++] = this.userAge[user];
      out[f++] = this.userGender[user];
      out[f++] = this.userOccupation[user];
      out[f++] = this.userActivity[user];
      out[f++] = this.userMeanRating[user];
      out[f++] = this.userMeanYear[user];
      out[f++] = this.itemPopularity[item];
      out[f++] =
        evenShare > 0 ? countWithin(this.itemTimes[item], windowStart, context.time) / evenShare : Number.NaN;
      out[f++] = this.itemYear[item];
      out[f++] = this.itemYear[item] - this.userMeanYear[user];
      out[f++] = this.itemMeanRating[item];
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
        out[f++] = s.rank(item);
        out[f++] = z - listBest[n];
      }
    }
  }
}

import type { InteractionMatrix } from './interaction-matrix';
import type { CandidateModel, Demographics } from './types';

/** How many training users interacted with each item. */
function itemUserCounts(train: InteractionMatrix): Float32Array {
  const counts = new Float32Array(train.nItems);
  for (let i = 0; i < train.nItems; i++) counts[i] = train.itemPtr[i + 1] - train.itemPtr[i];
  return counts;
}

/** Same list for everyone: the baseline any personalised model has to beat. */
export class GlobalPopularity implements CandidateModel {
  readonly name = 'popularity';
  private counts: Float32Array = new Float32Array(0);

  fit(train: InteractionMatrix): void {
    this.counts = itemUserCounts(train);
  }

  scoreUser(_user: number, out: Float32Array): void {
    out.set(this.counts);
  }
}

/** MovieLens-1M age bands; finer bands would leave most ML-100K cohorts with a handful of users. */
const AGE_BAND_UPPER_BOUNDS = [18, 25, 35, 45, 50, 56];

export function ageBand(age: number): number {
  const band = AGE_BAND_UPPER_BOUNDS.findIndex((upper) => age < upper);
  return band === -1 ? AGE_BAND_UPPER_BOUNDS.length : band;
}

export function cohortKey(d: Demographics): string {
  return `${ageBand(d.age)}|${d.gender}|${d.occupation}`;
}

export interface CohortPopularityParams {
  /**
   * Pseudo-users of global popularity mixed into every cohort. Age × gender ×
   * occupation cells are small (943 users over ~200 cells on ML-100K), so raw
   * cohort shares would be mostly noise.
   */
  shrinkage: number;
}

/**
 * Item share among the user's age-band × gender × occupation cohort, shrunk
 * toward the global share. Users without demographics get the global ranking.
 */
export class CohortPopularity implements CandidateModel {
  readonly name = 'cohort-popularity';
  private globalShare: Float32Array = new Float32Array(0);
  private cohortOfUser = new Int32Array(0);
  private cohortCounts: Float32Array[] = [];
  private cohortSizes: number[] = [];

  constructor(
    private readonly demographics: ReadonlyMap<string, Demographics>,
    readonly params: CohortPopularityParams,
  ) {}

  fit(train: InteractionMatrix): void {
    const cohortIds = new Map<string, number>();
    const cohortOfUser = new Int32Array(train.nUsers).fill(-1);
    const counts: Float32Array[] = [];
    const sizes: number[] = [];
    for (let u = 0; u < train.nUsers; u++) {
      const d = this.demographics.get(train.users.ids[u]);
      if (!d) continue;
      const key = cohortKey(d);
      let c = cohortIds.get(key);
      if (c === undefined) {
        c = counts.length;
        cohortIds.set(key, c);
        counts.push(new Float32Array(train.nItems));
        sizes.push(0);
      }
      cohortOfUser[u] = c;
      sizes[c]++;
      const row = counts[c];
      for (let n = train.userPtr[u]; n < train.userPtr[u + 1]; n++) row[train.userItems[n]]++;
    }
    const globalShare = itemUserCounts(train);
    for (let i = 0; i < globalShare.length; i++) globalShare[i] /= Math.max(1, train.nUsers);
    this.globalShare = globalShare;
    this.cohortOfUser = cohortOfUser;
    this.cohortCounts = counts;
    this.cohortSizes = sizes;
  }

  scoreUser(user: number, out: Float32Array): void {
    const c = this.cohortOfUser[user];
    if (c === undefined || c < 0) {
      out.set(this.globalShare);
      return;
    }
    const beta = this.params.shrinkage;
    const counts = this.cohortCounts[c];
    const denominator = this.cohortSizes[c] + beta;
    for (let i = 0; i < out.length; i++) out[i] = (counts[i] + beta * this.globalShare[i]) / denominator;
  }
}

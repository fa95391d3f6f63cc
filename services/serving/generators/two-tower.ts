/**
 * The release's two-tower model for users it has no trained vector for: the exported user tower
 * embeds what serving knows of them (the cohort's age band, gender and occupation, and the items
 * touched so far) and the items nearest by inner product with the item tower's vectors are
 * proposed. Only up to as many items as the release's gate found it beating cohort popularity
 * with (`serveUpTo`); past that, and for users with a trained vector, it proposes nothing.
 */
import { topK } from '../../evaluation/topk';
import { type NewUser, NewUserTower } from '../../models/two-tower/new-users';
import type { TwoTowerModelSpec } from '../../training/two-tower-release';
import { type ProposedList, type RequestContext, rankScores } from '../candidates';

/** A cohort key as the live catalog keeps it, `band|gender|occupation` with `?` for unknown. */
export function cohortParts(key: string | undefined): NewUser['cohort'] {
  if (key === undefined) return undefined;
  const [band, gender, occupation] = key.split('|');
  const known = (part: string | undefined) => (part === undefined || part === '?' ? undefined : part);
  const bandNumber = known(band) === undefined ? undefined : Number(band);
  return {
    band: bandNumber !== undefined && Number.isInteger(bandNumber) ? bandNumber : undefined,
    gender: known(gender),
    occupation: known(occupation),
  };
}

export class TwoTowerCandidates {
  private constructor(
    private readonly tower: NewUserTower,
    private readonly spec: Required<Pick<TwoTowerModelSpec, 'serveUpTo' | 'dims'>>,
    /** Per release item, its row of the tower's items, or -1. */
    private readonly towerRow: Int32Array,
    /** The item vectors in release order; a row the tower does not know is zero. */
    private readonly vectors: Float32Array,
  ) {}

  /**
   * Pairs the tower's items with the release's by id, so towers trained on another snapshot
   * (the champion's) serve this release's items too.
   */
  static async load(
    files: { userTower: Uint8Array; itemIds: readonly string[]; itemVectors: Float32Array },
    spec: Pick<TwoTowerModelSpec, 'vocabulary' | 'newUserIndex' | 'dims' | 'params'> & { serveUpTo: number },
    releaseItems: readonly string[],
  ): Promise<TwoTowerCandidates> {
    const { dims } = spec;
    if (files.itemVectors.length !== files.itemIds.length * dims)
      throw new Error(`two-tower item vectors do not match ${files.itemIds.length} ids × ${dims} dims`);
    const rowOf = new Map(files.itemIds.map((id, row) => [id, row]));
    const towerRow = Int32Array.from(releaseItems, (id) => rowOf.get(id) ?? -1);
    const vectors = new Float32Array(releaseItems.length * dims);
    towerRow.forEach((row, item) => {
      if (row >= 0) vectors.set(files.itemVectors.subarray(row * dims, (row + 1) * dims), item * dims);
    });
    const tower = await NewUserTower.load(files.userTower, {
      vocabulary: spec.vocabulary,
      newUserIndex: spec.newUserIndex,
      historyLength: spec.params.historyLength,
    });
    return new TwoTowerCandidates(tower, { serveUpTo: spec.serveUpTo, dims }, towerRow, vectors);
  }

  /** Whether the request is one this model serves: no trained vector, few enough items. */
  serves({ user, recent }: Pick<RequestContext, 'user' | 'recent'>): boolean {
    return user === undefined && recent.length <= this.spec.serveUpTo;
  }

  async propose(context: RequestContext): Promise<ProposedList | undefined> {
    if (!this.serves(context)) return undefined;
    const { state, request, recent, params } = context;
    const history = recent.map((item) => this.towerRow[item]).filter((row) => row >= 0);
    const query = await this.tower.embed([
      { cohort: cohortParts(state.catalog.cohortOfUser(request.userId)), history },
    ]);
    const { dims } = this.spec;
    const n = this.towerRow.length;
    const scores = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let dot = 0;
      for (let d = 0; d < dims; d++) dot += this.vectors[i * dims + d] * query[d];
      scores[i] = this.towerRow[i] >= 0 ? dot : Number.NEGATIVE_INFINITY;
    }
    // `recent` is newest first; topK merges its exclusions in ascending order.
    const seen = Int32Array.from(recent).sort();
    const items = topK(scores, params.perGenerator, seen).filter((item) => this.towerRow[item] >= 0);
    return { generator: 'two-tower', items, scores: rankScores(items.length) };
  }

  release(): Promise<void> {
    return this.tower.release();
  }
}

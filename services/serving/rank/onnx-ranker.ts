/**
 * Ranking by the release's learned ranker: one ONNX graph (both heads and their weighted
 * log-probabilities, `Ranker.toScoringOnnx`) over the whole candidate batch in one `session.run`
 * per request, with features filled from the release's in-memory tables into buffers allocated
 * once per release.
 *
 * The candidate models' signals are the release's own iALS scores (user vector · item vectors),
 * standardised by the moments of the release's item vectors and ranked among the candidates, as
 * the features were trained: a request costs O(dims²) for the user and O(dims) per candidate,
 * whatever the catalog's size.
 */
import * as ort from 'onnxruntime-node';
import { type OnnxSession, openOnnxSession } from '../../models/onnx-session';
import {
  FactorMoments,
  fillFeatureRows,
  type RankingFeatureTables,
  SignalScores,
} from '../../ranking/features';
import { ONNX_INPUT, ONNX_OUTPUT } from '../../ranking/onnx-export';
import type { Candidate, RequestContext } from '../candidates';

export interface ServingRankerModel {
  /** The scoring graph: features [batch, width] → score [batch, 1]. */
  onnx: Uint8Array;
  tables: RankingFeatureTables;
}

/**
 * One thread, sequential: a request's graph is ~200 rows through a few hundred shallow trees, too
 * little to split, and onnxruntime's default pool (a spinning worker per core) competes with the
 * event loop, which runs `session.run` itself. On 2 cores with one busy, the rank stage's mean
 * halves and its p99 drops threefold; idle, it is 10% faster (bench/serving/rank-stage.ts).
 */
export const rankerSessionOptions: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
};

export class OnnxRankingStage {
  private features: Float32Array;
  private items: Int32Array;
  private readonly width: number;

  private constructor(
    private readonly session: OnnxSession,
    private readonly tables: RankingFeatureTables,
    /** Of the release's item vectors, which its signal scores with. */
    private readonly moments: FactorMoments,
    capacity: number,
  ) {
    this.width = tables.names.length;
    this.features = new Float32Array(capacity * this.width);
    this.items = new Int32Array(capacity);
  }

  /**
   * `capacity`: candidates per request the buffers are sized for (they grow if ever exceeded);
   * `items`: the release's item vectors, in the rows its tables index.
   */
  static async load(
    model: ServingRankerModel,
    capacity: number,
    items: { vectors: Float32Array; dims: number },
  ): Promise<OnnxRankingStage> {
    const moments = await FactorMoments.yielding(items.vectors, items.dims, model.tables.nItems);
    return new OnnxRankingStage(
      await openOnnxSession(model.onnx, rankerSessionOptions),
      model.tables,
      moments,
      capacity,
    );
  }

  /** Whether the ranker has feature rows for the request's user: else the blend ranks. */
  knows(context: RequestContext): boolean {
    return context.user !== undefined && context.user < this.tables.userAge.length;
  }

  /** Scores every candidate in one batch and orders them best first. */
  async rank(context: RequestContext, candidates: Candidate[]): Promise<Candidate[]> {
    const user = context.user;
    if (user === undefined || candidates.length === 0) return candidates;
    // The generator and its one model are the same iALS: one view serves both signals.
    const signal = this.signalOf(context, user);
    const rows = candidates.length;
    if (this.items.length < rows) {
      this.items = new Int32Array(rows);
      this.features = new Float32Array(rows * this.width);
    }
    const items = this.items.subarray(0, rows);
    candidates.forEach((c, r) => {
      items[r] = c.item;
    });
    fillFeatureRows(
      this.tables,
      user,
      items,
      Array.from({ length: this.tables.signals }, () => signal),
      // The ranker learned at each user's latest training interaction; a replayed catalog's
      // clock is historical, so serving takes the same moment rather than the wall clock.
      { surface: context.request.surface, time: this.tables.userLastTime[user] },
      this.features,
    );
    const input = new ort.Tensor('float32', this.features.subarray(0, rows * this.width), [rows, this.width]);
    const score = (await this.session.run({ [ONNX_INPUT]: input }))[ONNX_OUTPUT].data as Float32Array;
    candidates.forEach((c, r) => {
      c.score = score[r];
    });
    // A stable sort: ties (trees give many) keep the generators' order, as offline.
    return candidates.sort((a, b) => b.score - a.score);
  }

  /** The release's iALS scores for the user, as the features were trained on. */
  private signalOf({ state }: RequestContext, user: number): SignalScores {
    const { dims, vectors } = state.items;
    return SignalScores.ofFactors(
      state.users.vectors.subarray(user * dims, (user + 1) * dims),
      vectors,
      this.moments,
    );
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

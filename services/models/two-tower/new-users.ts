/**
 * The exported user tower for users it was not fitted on: a new user is the tower's extra
 * zero id row (see `exportUserTower`), with the demographics serving knows and the items the
 * user has touched since, pooled as the history. This is what a release's two-tower serves.
 */
import * as ort from 'onnxruntime-node';
import { type OnnxSession, openOnnxSession } from '../onnx-session';
import { FeatureVocabulary, type VocabularyLists } from './features';
import { meanBag } from './serving';
import { floats } from './training-step';

export interface NewUserTowerSpec {
  vocabulary: VocabularyLists;
  /** The zero id row: the number of users the tower was fitted on. */
  newUserIndex: number;
  /** How many of the newest items are pooled, as in training. */
  historyLength: number;
}

export interface NewUser {
  /** The age band, gender and occupation serving knows; missing parts stay zero. */
  cohort?: { band?: number; gender?: string; occupation?: string };
  /** Rows of the tower's item table, newest first. */
  history: ArrayLike<number>;
}

export class NewUserTower {
  private constructor(
    private readonly session: OnnxSession,
    private readonly spec: NewUserTowerSpec,
    private readonly vocabulary: FeatureVocabulary,
  ) {}

  static async load(onnx: Uint8Array, spec: NewUserTowerSpec): Promise<NewUserTower> {
    // One thread: serving calls this per request on a shared machine, for a 1-row batch.
    const session = await openOnnxSession(onnx, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    return new NewUserTower(session, spec, FeatureVocabulary.fromLists(spec.vocabulary));
  }

  /** L2-normalised vectors [users.length × d], comparable with the release's two-tower item vectors. */
  async embed(users: readonly NewUser[]): Promise<Float32Array> {
    const n = users.length;
    const width = this.vocabulary.demographicsWidth;
    const demographics = new Float32Array(n * width);
    users.forEach((user, r) => {
      this.vocabulary.encodeCohort(user.cohort, demographics, r * width);
    });
    const history = meanBag(users.map((user) => Array.from(user.history).slice(0, this.spec.historyLength)));
    const out = await this.session.run({
      user_index: new ort.Tensor('int64', new BigInt64Array(n).fill(BigInt(this.spec.newUserIndex)), [n]),
      history_items: history.indices,
      history_weights: history.weights,
      demographics: new ort.Tensor('float32', demographics, [n, width]),
    });
    return Float32Array.from(floats(out.user_vector));
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

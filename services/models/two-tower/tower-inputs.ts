/**
 * Tower feature rows, assembled outside the graph: gathering and mean-pooling
 * a few embedding rows per example is cheap in plain loops, and keeps the
 * graph dense (its inputs are feature matrices, its outputs their gradients,
 * which are scattered back here into the embedding tables).
 *
 * User row: [user-id embedding | mean of recent-history embeddings | demographics].
 * Item row: [item-id embedding · known | known | genres, year bucket | mean of title-word embeddings].
 */
import type { InteractionMatrix } from '../interaction-matrix';
import { FeatureVocabulary, type ItemContent, type SideInformation, titleTokens } from './features';
import type { Floats } from './onnx-graph';
import type { Parameters } from './parameters';

/** Compressed rows: the entries of row r are values[ptr[r] .. ptr[r+1]). */
export interface Rows {
  ptr: Int32Array;
  values: Int32Array;
}

function compressRows(lists: readonly ArrayLike<number>[]): Rows {
  const ptr = new Int32Array(lists.length + 1);
  for (let r = 0; r < lists.length; r++) ptr[r + 1] = ptr[r] + lists[r].length;
  const values = new Int32Array(ptr[lists.length]);
  for (let r = 0; r < lists.length; r++) values.set(lists[r], ptr[r]);
  return { ptr, values };
}

/** The user's `length` latest training items, latest first; equal timestamps fall back to item order. */
function recentHistories(train: InteractionMatrix, length: number): Rows {
  const lists: Int32Array[] = [];
  for (let u = 0; u < train.nUsers; u++) {
    const entries = Array.from(
      { length: train.userPtr[u + 1] - train.userPtr[u] },
      (_, k) => train.userPtr[u] + k,
    );
    entries.sort(
      (a, b) => train.userTimes[b] - train.userTimes[a] || train.userItems[a] - train.userItems[b],
    );
    lists.push(Int32Array.from(entries.slice(0, length), (n) => train.userItems[n]));
  }
  return compressRows(lists);
}

export interface FeatureLayout {
  embeddingDim: number;
  demographicsWidth: number;
  contentWidth: number;
  userWidth: number;
  itemWidth: number;
}

export interface TowerInputOptions {
  historyLength: number;
  titleVocabulary: number;
  embeddingDim: number;
}

export class TowerInputs {
  private constructor(
    readonly layout: FeatureLayout,
    readonly vocabulary: FeatureVocabulary,
    readonly titleVocabulary: number,
    /** [nUsers × demographicsWidth] */
    readonly demographics: Float32Array,
    /** [nItems × contentWidth] */
    readonly content: Float32Array,
    readonly titles: Rows,
    readonly histories: Rows,
  ) {}

  static build(train: InteractionMatrix, side: SideInformation, options: TowerInputOptions): TowerInputs {
    const vocabulary = FeatureVocabulary.of(side);
    const d = options.embeddingDim;
    const layout: FeatureLayout = {
      embeddingDim: d,
      demographicsWidth: vocabulary.demographicsWidth,
      contentWidth: vocabulary.contentWidth,
      userWidth: 2 * d + vocabulary.demographicsWidth,
      itemWidth: 2 * d + 1 + vocabulary.contentWidth,
    };
    const demographics = new Float32Array(train.nUsers * layout.demographicsWidth);
    for (let u = 0; u < train.nUsers; u++) {
      vocabulary.encodeDemographics(
        side.demographics.get(train.users.ids[u]),
        demographics,
        u * layout.demographicsWidth,
      );
    }
    const content = new Float32Array(train.nItems * layout.contentWidth);
    const titles: number[][] = [];
    for (let i = 0; i < train.nItems; i++) {
      const c = side.content.get(train.items.ids[i]);
      vocabulary.encodeContent(c, content, i * layout.contentWidth);
      titles.push(c ? titleTokens(c.title, options.titleVocabulary) : []);
    }
    return new TowerInputs(
      layout,
      vocabulary,
      options.titleVocabulary,
      demographics,
      content,
      compressRows(titles),
      recentHistories(train, options.historyLength),
    );
  }

  /** Encodes an item that is not in the catalogue the model was fitted on. */
  encodeColdItem(c: ItemContent): { content: Float32Array; titleTokens: number[] } {
    const content = new Float32Array(this.layout.contentWidth);
    this.vocabulary.encodeContent(c, content, 0);
    return { content, titleTokens: titleTokens(c.title, this.titleVocabulary) };
  }

  /**
   * `heldOut[a]`, when given, is left out of row a's history: it is the item
   * the row is trained to retrieve, and at serving time a user's history never
   * contains the item being scored (seen items are filtered).
   */
  assembleUsers(p: Parameters, users: Int32Array, heldOut: Int32Array | undefined, out: Floats): void {
    const { embeddingDim: d, demographicsWidth, userWidth } = this.layout;
    const userTable = p.embeddings.userId;
    const historyTable = p.embeddings.history;
    const { ptr, values } = this.histories;
    for (let a = 0; a < users.length; a++) {
      const u = users[a];
      const row = a * userWidth;
      for (let k = 0; k < d; k++) out[row + k] = process.env.NOUID ? 0 : userTable[u * d + k];
      const pooled = row + d;
      out.fill(0, pooled, pooled + d);
      const skip = heldOut ? heldOut[a] : -1;
      let count = 0;
      for (let n = ptr[u]; n < ptr[u + 1]; n++) {
        const item = values[n];
        if (item === skip) continue;
        count++;
        const from = item * d;
        for (let k = 0; k < d; k++) out[pooled + k] += historyTable[from + k];
      }
      if (count > 1) for (let k = 0; k < d; k++) out[pooled + k] /= count;
      const demographics = this.demographics.subarray(u * demographicsWidth, (u + 1) * demographicsWidth);
      out.set(demographics, row + 2 * d);
    }
  }

  /** Adds the embedding gradients implied by `dFeatures` (the graph's grad.user_features). */
  scatterUsers(
    grad: Parameters,
    users: Int32Array,
    heldOut: Int32Array | undefined,
    dFeatures: Floats,
  ): void {
    const { embeddingDim: d, userWidth } = this.layout;
    const userTable = grad.embeddings.userId;
    const historyTable = grad.embeddings.history;
    const { ptr, values } = this.histories;
    for (let a = 0; a < users.length; a++) {
      const u = users[a];
      const row = a * userWidth;
      for (let k = 0; k < d; k++) userTable[u * d + k] += dFeatures[row + k];
      const skip = heldOut ? heldOut[a] : -1;
      let count = 0;
      for (let n = ptr[u]; n < ptr[u + 1]; n++) if (values[n] !== skip) count++;
      if (count === 0) continue;
      const share = 1 / count;
      for (let n = ptr[u]; n < ptr[u + 1]; n++) {
        const item = values[n];
        if (item === skip) continue;
        const to = item * d;
        for (let k = 0; k < d; k++) historyTable[to + k] += dFeatures[row + d + k] * share;
      }
    }
  }

  /** `known[a] = 0` drops row a's id embedding (and flags it), as for a cold item. */
  assembleItems(p: Parameters, items: Int32Array, known: Uint8Array | undefined, out: Floats): void {
    const { embeddingDim: d, contentWidth, itemWidth } = this.layout;
    const itemTable = p.embeddings.itemId;
    const titleTable = p.embeddings.title;
    const { ptr, values } = this.titles;
    for (let a = 0; a < items.length; a++) {
      const i = items[a];
      const row = a * itemWidth;
      const idKnown = known ? known[a] : 1;
      if (idKnown) for (let k = 0; k < d; k++) out[row + k] = itemTable[i * d + k];
      else out.fill(0, row, row + d);
      out[row + d] = idKnown;
      out.set(this.content.subarray(i * contentWidth, (i + 1) * contentWidth), row + d + 1);
      const pooled = row + d + 1 + contentWidth;
      out.fill(0, pooled, pooled + d);
      const count = ptr[i + 1] - ptr[i];
      for (let n = ptr[i]; n < ptr[i + 1]; n++) {
        const from = values[n] * d;
        for (let k = 0; k < d; k++) out[pooled + k] += titleTable[from + k];
      }
      if (count > 1) for (let k = 0; k < d; k++) out[pooled + k] /= count;
    }
  }

  scatterItems(grad: Parameters, items: Int32Array, known: Uint8Array | undefined, dFeatures: Floats): void {
    const { embeddingDim: d, contentWidth, itemWidth } = this.layout;
    const itemTable = grad.embeddings.itemId;
    const titleTable = grad.embeddings.title;
    const { ptr, values } = this.titles;
    for (let a = 0; a < items.length; a++) {
      const i = items[a];
      const row = a * itemWidth;
      if (!known || known[a]) for (let k = 0; k < d; k++) itemTable[i * d + k] += dFeatures[row + k];
      const count = ptr[i + 1] - ptr[i];
      if (count === 0) continue;
      const pooled = row + d + 1 + contentWidth;
      const share = 1 / count;
      for (let n = ptr[i]; n < ptr[i + 1]; n++) {
        const to = values[n] * d;
        for (let k = 0; k < d; k++) titleTable[to + k] += dFeatures[pooled + k] * share;
      }
    }
  }
}

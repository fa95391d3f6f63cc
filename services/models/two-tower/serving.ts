/**
 * Runs the exported (self-contained) tower graphs: ids and side features in,
 * L2-normalised vectors out. This is the path a serving process takes, and
 * the only one that can embed an item the model never saw.
 */
import * as ort from 'onnxruntime-node';
import { type OnnxSession, openOnnxSession } from '../onnx-session';
import type { ItemContent } from './features';
import type { Floats } from './onnx-graph';
import type { Rows, TowerInputs } from './tower-inputs';
import { floats } from './training-step';

export interface ExportedTowers {
  user: Uint8Array;
  item: Uint8Array;
}

/** Pads per-row index lists to one width; weights are 1/|list| (a mean) and 0 on padding. */
export function meanBag(lists: readonly ArrayLike<number>[]): { indices: ort.Tensor; weights: ort.Tensor } {
  const width = Math.max(1, ...lists.map((l) => l.length));
  const indices = new BigInt64Array(lists.length * width);
  const weights = new Float32Array(lists.length * width);
  lists.forEach((list, r) => {
    for (let k = 0; k < list.length; k++) {
      indices[r * width + k] = BigInt(list[k]);
      weights[r * width + k] = 1 / list.length;
    }
  });
  return {
    indices: new ort.Tensor('int64', indices, [lists.length, width]),
    weights: new ort.Tensor('float32', weights, [lists.length, width]),
  };
}

function rowsOf(rows: Rows, indices: Int32Array): Int32Array[] {
  return Array.from(indices, (r) => rows.values.subarray(rows.ptr[r], rows.ptr[r + 1]));
}

function gatherRows(table: Float32Array, width: number, rows: Int32Array): Float32Array {
  const out = new Float32Array(rows.length * width);
  for (let r = 0; r < rows.length; r++)
    out.set(table.subarray(rows[r] * width, (rows[r] + 1) * width), r * width);
  return out;
}

export class TowerServer {
  private constructor(
    private readonly userTower: OnnxSession,
    private readonly itemTower: OnnxSession,
    private readonly inputs: TowerInputs,
  ) {}

  static async load(towers: ExportedTowers, inputs: TowerInputs): Promise<TowerServer> {
    const [user, item] = await Promise.all([openOnnxSession(towers.user), openOnnxSession(towers.item)]);
    return new TowerServer(user, item, inputs);
  }

  /** Vectors [users.length × d] of fitted users, from their recent training history and demographics. */
  async embedUsers(users: Int32Array): Promise<Floats> {
    const width = this.inputs.layout.demographicsWidth;
    const demographics = gatherRows(this.inputs.demographics, width, users);
    const history = meanBag(Array.from(users, (u) => this.inputs.servingHistory(u)));
    const out = await this.userTower.run({
      user_index: new ort.Tensor('int64', BigInt64Array.from(users, BigInt), [users.length]),
      history_items: history.indices,
      history_weights: history.weights,
      demographics: new ort.Tensor('float32', demographics, [users.length, width]),
    });
    return floats(out.user_vector);
  }

  /** Vectors [items.length × d] of catalogue items, id embedding included. */
  async embedItems(items: Int32Array): Promise<Floats> {
    const content = gatherRows(this.inputs.content, this.inputs.layout.contentWidth, items);
    return this.runItemTower(items, 1, content, rowsOf(this.inputs.titles, items));
  }

  /** Vectors of items outside the fitted catalogue, from content alone. */
  async embedColdItems(contents: readonly ItemContent[]): Promise<Floats> {
    const width = this.inputs.layout.contentWidth;
    const content = new Float32Array(contents.length * width);
    const titles = contents.map((c, r) => {
      const encoded = this.inputs.encodeColdItem(c);
      content.set(encoded.content, r * width);
      return encoded.titleTokens;
    });
    // The index is a placeholder: id_known = 0 zeroes whatever row it gathers.
    return this.runItemTower(new Int32Array(contents.length), 0, content, titles);
  }

  private async runItemTower(
    items: Int32Array,
    idKnown: 0 | 1,
    content: Float32Array,
    titles: readonly ArrayLike<number>[],
  ): Promise<Floats> {
    const n = items.length;
    const title = meanBag(titles);
    const out = await this.itemTower.run({
      item_index: new ort.Tensor('int64', BigInt64Array.from(items, BigInt), [n]),
      id_known: new ort.Tensor('float32', new Float32Array(n).fill(idKnown), [n, 1]),
      content: new ort.Tensor('float32', content, [n, this.inputs.layout.contentWidth]),
      title_tokens: title.indices,
      title_weights: title.weights,
    });
    return floats(out.item_vector);
  }
}

/**
 * Top-N over the whole catalogue for users of a factor model, as `recommend` ranks them with
 * `Ials.scoreUser`, split over threads. At 1M items a held-out user costs 64M multiply-adds:
 * 2,000 of them on one thread were most of a 10M-event retrain's holdout.
 *
 * Each score is the same double-precision sum over the factors in the same order, rounded to
 * single precision, as `scoreVector` computes it, so the lists (and the NDCG) are the same.
 */
import { join } from 'node:path';
import { spawnModuleWorker } from '../concurrency/threads';
import { topK } from '../evaluation/topk';

export interface FactorModel {
  /** Row-major, `factors` per row; views of shared memory for the work to be split over threads. */
  users: Float32Array;
  items: Float32Array;
  factors: number;
}

/** Users to rank, with the items each must not get back (ascending, as a CSR row is). */
export interface RankingRequest {
  rows: Int32Array;
  /** CSR over `rows`: the excluded items of rows[n] are excluded[excludedPtr[n] .. excludedPtr[n+1]). */
  excludedPtr: Int32Array;
  excluded: Int32Array;
  n: number;
}

/** Users scored together: each item's factors are read once for the whole block. */
const BLOCK = 4;

/** The top `n` items of each requested user, best first, on this thread. */
export function rankWithFactors(model: FactorModel, request: RankingRequest): Int32Array[] {
  const k = model.factors;
  const items = model.items;
  const nItems = items.length / k;
  const { rows, excludedPtr, excluded, n } = request;
  const vectors = new Float64Array(BLOCK * k);
  const scores = Array.from({ length: BLOCK }, () => new Float32Array(nItems));
  const [s0, s1, s2, s3] = scores;
  const lists: Int32Array[] = [];
  for (let start = 0; start < rows.length; start += BLOCK) {
    const size = Math.min(BLOCK, rows.length - start);
    // A short last block repeats its last user rather than branching in the inner loop.
    for (let b = 0; b < BLOCK; b++) {
      const row = rows[start + Math.min(b, size - 1)];
      for (let f = 0; f < k; f++) vectors[b * k + f] = model.users[row * k + f];
    }
    for (let i = 0; i < nItems; i++) {
      const at = i * k;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let f = 0; f < k; f++) {
        const x = items[at + f];
        a0 += vectors[f] * x;
        a1 += vectors[k + f] * x;
        a2 += vectors[2 * k + f] * x;
        a3 += vectors[3 * k + f] * x;
      }
      s0[i] = a0;
      s1[i] = a1;
      s2[i] = a2;
      s3[i] = a3;
    }
    for (let b = 0; b < size; b++) {
      const m = start + b;
      lists.push(topK(scores[b], n, excluded.subarray(excludedPtr[m], excludedPtr[m + 1])));
    }
  }
  return lists;
}

/** The request for `rows` of a CSR of excluded items (a training matrix's user rows). */
export function rankingRequest(
  rows: readonly number[],
  seen: { userPtr: Int32Array; userItems: Int32Array },
  n: number,
): RankingRequest {
  const excludedPtr = new Int32Array(rows.length + 1);
  rows.forEach((row, m) => {
    excludedPtr[m + 1] = excludedPtr[m] + seen.userPtr[row + 1] - seen.userPtr[row];
  });
  const excluded = new Int32Array(excludedPtr[rows.length]);
  rows.forEach((row, m) => {
    excluded.set(seen.userItems.subarray(seen.userPtr[row], seen.userPtr[row + 1]), excludedPtr[m]);
  });
  return { rows: Int32Array.from(rows), excludedPtr, excluded, n };
}

export interface FactorRankingTask {
  model: FactorModel;
  request: RankingRequest;
}

const shared = (array: Float32Array) => array.buffer instanceof SharedArrayBuffer;

/** A copy of `values` in shared memory, so `rankOnThreads` can split the work over threads. */
export function sharedFloats(values: ArrayLike<number>): Float32Array {
  const copy = new Float32Array(new SharedArrayBuffer(values.length * Float32Array.BYTES_PER_ELEMENT));
  copy.set(values);
  return copy;
}

/**
 * The top `n` of each row, keyed by row, over `threads` threads (this one included). Factors
 * that are not in shared memory are ranked on this thread: copying them would cost more.
 */
export async function rankOnThreads(
  model: FactorModel,
  rows: readonly number[],
  seen: { userPtr: Int32Array; userItems: Int32Array },
  n: number,
  threads: number,
): Promise<Map<number, Int32Array>> {
  const parts = shared(model.users) && shared(model.items) ? Math.max(1, Math.min(threads, rows.length)) : 1;
  const bounds = Array.from({ length: parts + 1 }, (_, p) => Math.round((rows.length * p) / parts));
  const requests = Array.from({ length: parts }, (_, p) =>
    rankingRequest(rows.slice(bounds[p], bounds[p + 1]), seen, n),
  );
  const others = requests.slice(1).map((request) => rankInThread({ model, request }));
  const lists = [rankWithFactors(model, requests[0]), ...(await Promise.all(others))].flat();
  return new Map(rows.map((row, m) => [row, lists[m]]));
}

function rankInThread(task: FactorRankingTask): Promise<Int32Array[]> {
  const worker = spawnModuleWorker(join(__dirname, 'factor-ranking-thread'), task);
  return new Promise<Int32Array[]>((resolve, reject) => {
    worker.once('message', (lists: Int32Array[]) => {
      resolve(lists);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`ranking thread exited with code ${code} before answering`)),
    );
  });
}

/**
 * A task thread for the native-call gate's tests. `xgboost` trains boosting rounds forever, almost
 * all of its time inside the library; `held` makes one native call that lasts until the test lets
 * it go. Both count in `progress` so the test knows the thread is at work.
 */
import { parentPort } from 'node:worker_threads';
import { nativeCall } from '../../services/concurrency/native-calls';
import { answerFromThread, threadTask } from '../../services/concurrency/threads';
import { mulberry32 } from '../../services/models/random';
import { Booster, DMatrix } from '../../services/ranking/xgboost';

export interface NativeCallTask {
  mode: 'xgboost' | 'held';
  /** [0]: work done so far; [1]: set to 1 to end the held call. */
  progress: SharedArrayBuffer;
}

function trainForever(progress: Int32Array): never {
  const random = mulberry32(7);
  const rows = 2_000;
  const values = new Float32Array(rows * 4).map(() => random());
  const labels = new Float32Array(rows).map((_, r) => (values[4 * r] > 0.5 ? 1 : 0));
  const matrix = DMatrix.fromRows({ values, rows, columns: 4, labels });
  const booster = Booster.create({ objective: 'binary:logistic', eval_metric: 'logloss', nthread: 1 }, [
    matrix,
  ]);
  for (let round = 0; ; round++) {
    booster.updateOneIteration(round, matrix);
    booster.evaluate(round, matrix);
    Atomics.add(progress, 0, 1);
  }
}

function holdOneCall(progress: Int32Array): void {
  nativeCall(() => {
    Atomics.add(progress, 0, 1);
    Atomics.wait(progress, 1, 0);
  });
}

async function run({ mode, progress }: NativeCallTask): Promise<void> {
  const cells = new Int32Array(progress);
  if (mode === 'xgboost') trainForever(cells);
  holdOneCall(cells);
}

const parent = parentPort;
if (parent !== null)
  answerFromThread((answer) => parent.postMessage(answer), run(threadTask<NativeCallTask>()));

/**
 * XGBoost through its C library (Debian's libxgboost0, see deploy/local/install-ranker.sh),
 * called with koffi. Only what the ranker needs: dense float32 matrices, training one round
 * at a time, evaluation, prediction and the JSON model for export.
 */
import koffi from 'koffi';
import { nativeCall } from '../concurrency/native-calls';

/** koffi hands native pointers over as opaque external objects, and NULL as null. */
type Pointer = object;
type PointerOut = (Pointer | null)[];

interface XgboostApi {
  lastError(): string;
  version(major: number[], minor: number[], patch: number[]): void;
  matrixFromRows(data: Float32Array, rows: number, cols: number, missing: number, out: PointerOut): number;
  matrixSetFloatInfo(matrix: Pointer, field: string, values: Float32Array, length: number): number;
  matrixFree(matrix: Pointer): number;
  boosterCreate(matrices: Pointer[], count: number, out: PointerOut): number;
  boosterFree(booster: Pointer): number;
  boosterSetParam(booster: Pointer, name: string, value: string): number;
  boosterUpdateOneIter(booster: Pointer, iteration: number, train: Pointer): number;
  boosterEvalOneIter(
    booster: Pointer,
    iteration: number,
    matrices: Pointer[],
    names: string[],
    count: number,
    out: string[],
  ): number;
  boosterPredict(
    booster: Pointer,
    matrix: Pointer,
    optionMask: number,
    treeLimit: number,
    training: number,
    length: number[],
    out: PointerOut,
  ): number;
  boosterSlice(booster: Pointer, begin: number, end: number, step: number, out: PointerOut): number;
  boosterSaveModelToBuffer(booster: Pointer, config: string, length: number[], out: PointerOut): number;
}

let api: XgboostApi | undefined;

/**
 * Bound on first use, so modules that import the ranker load without the native library and
 * fail only when a booster is actually needed.
 */
function xgboost(): XgboostApi {
  if (api) return api;
  const library = koffi.load('libxgboost.so.0');
  // Every call passes the thread's native-call gate, so a training thread is never terminated inside one.
  const lib = {
    func: (signature: string) => {
      const call = library.func(signature);
      return (...args: unknown[]) => nativeCall(() => call(...args));
    },
  };
  koffi.opaque('DMatrix');
  koffi.opaque('Booster');
  api = {
    lastError: lib.func('const char *XGBGetLastError()'),
    version: lib.func('void XGBoostVersion(_Out_ int *major, _Out_ int *minor, _Out_ int *patch)'),
    matrixFromRows: lib.func(
      'int XGDMatrixCreateFromMat(const float *data, uint64_t nrow, uint64_t ncol, float missing, _Out_ DMatrix **out)',
    ),
    matrixSetFloatInfo: lib.func(
      'int XGDMatrixSetFloatInfo(DMatrix *handle, const char *field, const float *array, uint64_t len)',
    ),
    matrixFree: lib.func('int XGDMatrixFree(DMatrix *handle)'),
    boosterCreate: lib.func('int XGBoosterCreate(DMatrix **dmats, uint64_t len, _Out_ Booster **out)'),
    boosterFree: lib.func('int XGBoosterFree(Booster *handle)'),
    boosterSetParam: lib.func('int XGBoosterSetParam(Booster *handle, const char *name, const char *value)'),
    boosterUpdateOneIter: lib.func('int XGBoosterUpdateOneIter(Booster *handle, int iter, DMatrix *dtrain)'),
    boosterEvalOneIter: lib.func(
      'int XGBoosterEvalOneIter(Booster *handle, int iter, DMatrix **dmats, const char **evnames, uint64_t len, _Out_ const char **out)',
    ),
    boosterPredict: lib.func(
      'int XGBoosterPredict(Booster *handle, DMatrix *dmat, int option_mask, unsigned int ntree_limit, int training, _Out_ uint64_t *out_len, _Out_ const void **out_result)',
    ),
    boosterSlice: lib.func(
      'int XGBoosterSlice(Booster *handle, int begin_layer, int end_layer, int step, _Out_ Booster **out)',
    ),
    // The buffer is declared void* rather than char*: koffi would otherwise decode it as a C string.
    boosterSaveModelToBuffer: lib.func(
      'int XGBoosterSaveModelToBuffer(Booster *handle, const char *config, _Out_ uint64_t *out_len, _Out_ const void **out_dptr)',
    ),
  };
  return api;
}

export class XgboostError extends Error {
  constructor(call: string, detail: string) {
    super(`xgboost ${call}: ${detail}`);
    this.name = 'XgboostError';
  }
}

/** Every C API call returns 0 or -1; the message of a failure is thread-local state in the library. */
function check(call: string, status: number): void {
  if (status !== 0) throw new XgboostError(call, xgboost().lastError() || 'failed without a message');
}

function firstPointer(call: string, out: PointerOut): Pointer {
  const pointer = out[0];
  if (pointer === null || pointer === undefined) throw new XgboostError(call, 'returned no handle');
  return pointer;
}

export function xgboostVersion(): string {
  const major = [0];
  const minor = [0];
  const patch = [0];
  xgboost().version(major, minor, patch);
  return `${major[0]}.${minor[0]}.${patch[0]}`;
}

/** Row-major float32 features with optional labels; NaN marks a missing value. */
export interface FeatureRows {
  values: Float32Array;
  rows: number;
  columns: number;
  labels?: Float32Array;
}

/** A native DMatrix; owners call `dispose` (typically in `finally`). */
export class DMatrix {
  private constructor(private pointer: Pointer | null) {}

  static fromRows({ values, rows, columns, labels }: FeatureRows): DMatrix {
    if (values.length !== rows * columns) {
      throw new Error(`feature rows: ${values.length} values for ${rows} × ${columns}`);
    }
    const out: PointerOut = [null];
    check('XGDMatrixCreateFromMat', xgboost().matrixFromRows(values, rows, columns, Number.NaN, out));
    const matrix = new DMatrix(firstPointer('XGDMatrixCreateFromMat', out));
    if (labels) {
      if (labels.length !== rows) {
        matrix.dispose();
        throw new Error(`feature rows: ${labels.length} labels for ${rows} rows`);
      }
      check('XGDMatrixSetFloatInfo', xgboost().matrixSetFloatInfo(matrix.handle, 'label', labels, rows));
    }
    return matrix;
  }

  get handle(): Pointer {
    if (this.pointer === null) throw new Error('DMatrix used after dispose');
    return this.pointer;
  }

  dispose(): void {
    if (this.pointer === null) return;
    check('XGDMatrixFree', xgboost().matrixFree(this.pointer));
    this.pointer = null;
  }
}

/** Parameter values are passed as strings, as the C API expects. */
export type BoosterParams = Readonly<Record<string, string | number>>;

export class Booster {
  private constructor(private pointer: Pointer | null) {}

  /** `cache` lists the matrices the booster will train and evaluate on, as XGBoosterCreate wants. */
  static create(params: BoosterParams, cache: readonly DMatrix[]): Booster {
    const out: PointerOut = [null];
    const handles = cache.map((m) => m.handle);
    check('XGBoosterCreate', xgboost().boosterCreate(handles, handles.length, out));
    const booster = new Booster(firstPointer('XGBoosterCreate', out));
    try {
      for (const [name, value] of Object.entries(params)) booster.setParam(name, String(value));
    } catch (error) {
      booster.dispose();
      throw error;
    }
    return booster;
  }

  private get handle(): Pointer {
    if (this.pointer === null) throw new Error('Booster used after dispose');
    return this.pointer;
  }

  setParam(name: string, value: string): void {
    check(`XGBoosterSetParam(${name})`, xgboost().boosterSetParam(this.handle, name, value));
  }

  updateOneIteration(iteration: number, train: DMatrix): void {
    check('XGBoosterUpdateOneIter', xgboost().boosterUpdateOneIter(this.handle, iteration, train.handle));
  }

  /** The booster's `eval_metric` values on `matrix` after `iteration`, keyed by metric name. */
  evaluate(iteration: number, matrix: DMatrix): Record<string, number> {
    const out = [''];
    check(
      'XGBoosterEvalOneIter',
      xgboost().boosterEvalOneIter(this.handle, iteration, [matrix.handle], ['eval'], 1, out),
    );
    // The library formats results as "[iteration]\teval-<metric>:<value>…".
    const metrics: Record<string, number> = {};
    for (const field of out[0].split('\t').slice(1)) {
      const separator = field.lastIndexOf(':');
      metrics[field.slice('eval-'.length, separator)] = Number(field.slice(separator + 1));
    }
    return metrics;
  }

  /** Transformed predictions: probabilities for logistic objectives. */
  predict(matrix: DMatrix): Float32Array {
    const length = [0];
    const out: PointerOut = [null];
    // Option mask 0: transformed output; tree limit 0: every tree; training 0: no dropout.
    check('XGBoosterPredict', xgboost().boosterPredict(this.handle, matrix.handle, 0, 0, 0, length, out));
    // The result lives in a buffer the library reuses on the next call, so it is copied out now.
    return new Float32Array(koffi.view(firstPointer('XGBoosterPredict', out), length[0] * 4).slice(0));
  }

  /** A new booster with the first `rounds` boosting rounds; used to keep the early-stopping best. */
  slice(rounds: number): Booster {
    const out: PointerOut = [null];
    check('XGBoosterSlice', xgboost().boosterSlice(this.handle, 0, rounds, 1, out));
    return new Booster(firstPointer('XGBoosterSlice', out));
  }

  /** The full model (learner parameters, objective and every tree) in XGBoost's JSON format. */
  modelJson(): string {
    const length = [0];
    const out: PointerOut = [null];
    check(
      'XGBoosterSaveModelToBuffer',
      xgboost().boosterSaveModelToBuffer(this.handle, '{"format":"json"}', length, out),
    );
    const bytes = koffi.view(firstPointer('XGBoosterSaveModelToBuffer', out), length[0]);
    return Buffer.from(bytes).toString('utf8');
  }

  dispose(): void {
    if (this.pointer === null) return;
    check('XGBoosterFree', xgboost().boosterFree(this.pointer));
    this.pointer = null;
  }
}

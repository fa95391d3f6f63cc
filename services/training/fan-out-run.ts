/**
 * The caller's side of a fanned-out iALS fit: it stores the interaction matrix once per run
 * before starting `ialsFanOut`, reads the factors the run's result names, and discards the run.
 */
import type { InteractionMatrix } from '../models/interaction-matrix';
import { decodeFactors, encodeMatrix, type FactorBlock, ialsKeys } from './fan-out-format';
import type { TrainingStore } from './fan-out-store';

export async function storeIalsMatrix(
  store: TrainingStore,
  run: string,
  matrix: InteractionMatrix,
): Promise<void> {
  const key = ialsKeys.matrix(run);
  if (await store.has(key)) return;
  await store.put(key, encodeMatrix(matrix));
}

export async function loadIalsFactors(store: TrainingStore, key: string): Promise<FactorBlock> {
  const bytes = await store.get(key);
  if (bytes === undefined) throw new Error(`training store object ${key} is missing`);
  return decodeFactors(bytes, `training store object ${key}`);
}

import { buildInteractionMatrix, type IdIndex, type InteractionMatrix } from '../models/interaction-matrix';
import type { CandidateModel } from '../models/types';
import { evaluateRanking, type Relevance, relevanceOf } from './ranking';
import type { Split } from './splits';

/** Every combination of the listed values. */
export function product<T extends object>(axes: { [K in keyof T]: readonly T[K][] }): T[] {
  let combos: Partial<T>[] = [{}];
  for (const key of Object.keys(axes) as (keyof T)[]) {
    combos = combos.flatMap((combo) => axes[key].map((value) => ({ ...combo, [key]: value })));
  }
  // Every key of T has been assigned by the loop above.
  return combos as T[];
}

/** A train matrix plus the held-out items it is judged on. */
export interface Stage {
  train: InteractionMatrix;
  relevant: Relevance;
}

export function stage(split: Split, index: { users: IdIndex; items: IdIndex }): Stage {
  return {
    train: buildInteractionMatrix(split.train, index.users, index.items),
    relevant: relevanceOf(split.test, index.users, index.items),
  };
}

export type Hyperparameters = Readonly<Record<string, number>>;

export interface Candidate {
  params: Hyperparameters;
  create(): CandidateModel;
}

export interface ModelSpec {
  name: string;
  candidates: Candidate[];
}

/** Erases each model's parameter type so specs for different models fit in one list. */
export function spec<P extends object>(
  name: string,
  grid: readonly P[],
  create: (params: P) => CandidateModel,
): ModelSpec {
  return {
    name,
    candidates: grid.map((params) => ({ params: numericParams(params), create: () => create(params) })),
  };
}

/** Unset optional parameters (e.g. no recency half-life) are left out of the report. */
function numericParams(params: object): Hyperparameters {
  return Object.fromEntries(
    Object.entries(params).filter((entry): entry is [string, number] => typeof entry[1] === 'number'),
  );
}

export function ndcgOn(model: CandidateModel, validation: Stage, k: number): number {
  return evaluateRanking(model, validation.train, validation.relevant, k).report.ndcg;
}

export interface Tuned {
  candidate: Candidate;
  /** The winner as fitted on the validation train split. */
  model: CandidateModel;
  ndcg: number;
  seconds: number;
}

/** Fits every candidate on validation-train and keeps the best by NDCG@K; the first of equals wins. */
export async function tune(s: ModelSpec, validation: Stage, k: number): Promise<Tuned> {
  const started = performance.now();
  let best: Omit<Tuned, 'seconds'> | undefined;
  for (const candidate of s.candidates) {
    const model = candidate.create();
    await model.fit(validation.train);
    const ndcg = ndcgOn(model, validation, k);
    if (!best || ndcg > best.ndcg) best = { candidate, model, ndcg };
  }
  if (!best) throw new Error(`${s.name}: empty hyperparameter grid`);
  return { ...best, seconds: (performance.now() - started) / 1000 };
}

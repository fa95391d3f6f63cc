import type { InteractionMatrix } from './interaction-matrix';

export interface Interaction {
  user: string;
  item: string;
  timestamp: number;
  rating?: number;
}

export interface Demographics {
  age: number;
  gender: string;
  occupation: string;
}

/**
 * A model that produces a score for every catalogue item for a known user.
 * Scores are only comparable within one user; the caller excludes seen items.
 */
export interface CandidateModel {
  readonly name: string;
  fit(train: InteractionMatrix): void | Promise<void>;
  /** `out` has length `train.nItems`; every entry is overwritten. */
  scoreUser(user: number, out: Float32Array): void;
}

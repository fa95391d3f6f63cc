import type { TwoTowerParams } from './model';

const BASE: TwoTowerParams = {
  embeddingDim: 64,
  hiddenDim: 128,
  outputDim: 64,
  temperature: 0.2,
  learningRate: 0.003,
  epochs: 5,
  batchSize: 1024,
  historyLength: 50,
  trainingHistory: 'leave-one-out',
  itemIdDropout: 0.2,
};

/**
 * Small on purpose: every point is a full fit on validation-train. One grid
 * serves both protocols; validation decides, e.g., whether a training row
 * pools the latest items (matches a random holdout) or the items preceding
 * its target (matches a temporal one).
 */
export const TWO_TOWER_GRID: TwoTowerParams[] = [
  BASE,
  { ...BASE, historyLength: 100 },
  { ...BASE, temperature: 0.1, epochs: 3 },
  { ...BASE, trainingHistory: 'preceding', historyLength: 20, temperature: 0.1, epochs: 3 },
  { ...BASE, trainingHistory: 'preceding', historyLength: 20 },
  { ...BASE, trainingHistory: 'preceding', historyLength: 10, temperature: 0.1, epochs: 3 },
];

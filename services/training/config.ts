/**
 * What the daily retrain trains and how its challenger is judged. Hyperparameters are the ones
 * `cairn eval` chose on validation (stratified protocol); the retrain does not tune.
 */
import { z } from 'zod';

export const trainingConfigSchema = z
  .object({
    ials: z
      .object({
        factors: z.number().int().min(2).max(512).default(128),
        lambda: z.number().positive().default(100),
        alpha: z.number().positive().default(20),
        epochs: z.number().int().min(1).max(100).default(10),
        seed: z.number().int().min(0).default(1),
      })
      .strict()
      .default({ factors: 128, lambda: 100, alpha: 20, epochs: 10, seed: 1 }),
    /** Seed of the per-user holdout the gate measures NDCG@10 on. */
    holdoutSeed: z.number().int().min(0).default(7),
    /** A challenger may trail the champion by at most this much NDCG@10 and still be promoted. */
    gateTolerance: z.number().min(0).max(1).default(0.005),
  })
  .strict();

export type TrainingConfig = z.output<typeof trainingConfigSchema>;

export class TrainingConfigError extends Error {
  override name = 'TrainingConfigError';
}

export function parseTrainingConfig(input: unknown): TrainingConfig {
  const parsed = trainingConfigSchema.safeParse(input ?? {});
  if (!parsed.success)
    throw new TrainingConfigError(
      `invalid training config: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

/**
 * What the daily retrain trains and how its challenger is judged. Hyperparameters are the ones
 * `cairn eval` chose on validation (stratified protocol); the retrain does not tune.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { describeIssues } from '../../schemas/issues';
import { ConfigError } from '../config/environment';

export const trainingConfigSchema = z
  .object({
    ials: z
      .object({
        factors: z.number().int().min(2).max(512).default(64),
        lambda: z.number().positive().default(30),
        alpha: z.number().positive().default(2),
        epochs: z.number().int().min(1).max(100).default(15),
        seed: z.number().int().min(0).default(1),
      })
      .strict()
      .default({ factors: 64, lambda: 30, alpha: 2, epochs: 15, seed: 1 }),
    /** Seed of the per-user holdout the gate measures NDCG@10 on. */
    holdoutSeed: z.number().int().min(0).default(7),
    /** A challenger may trail the champion by at most this much NDCG@10 and still be promoted. */
    gateTolerance: z.number().min(0).max(1).default(0.005),
  })
  .strict();

export type TrainingConfig = z.output<typeof trainingConfigSchema>;

export class TrainingConfigError extends ConfigError {
  override name = 'TrainingConfigError';
}

/** `source` names where the config came from (a file), so the message says where to look. */
export function parseTrainingConfig(input: unknown, source = 'training config'): TrainingConfig {
  const parsed = trainingConfigSchema.safeParse(input ?? {});
  if (!parsed.success) throw new TrainingConfigError(`invalid ${source}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** A JSON training config file, validated; every failure names the file and the reason. */
export async function readTrainingConfigFile(path: string): Promise<TrainingConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new TrainingConfigError(`cannot read training config ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TrainingConfigError(`training config ${path} is not JSON: ${(error as Error).message}`);
  }
  return parseTrainingConfig(json, `training config ${path}`);
}

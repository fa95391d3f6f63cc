/**
 * Serving's parameters: the pipeline's knobs, the budgets, and the A/B variants that override
 * the knobs for a share of users. Validated once at start; a bad file is refused whole.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { describeIssues } from '../../schemas/issues';
import { generatorNames } from './candidates';

export const pipelineParamsSchema = z
  .object({
    /** Candidates asked of each generator. */
    perGenerator: z.number().int().min(10).max(2_000).default(200),
    /** Candidates asked of the kNN search: its cost grows with k, the others' hardly. */
    annCandidates: z.number().int().min(10).max(2_000).default(100),
    /** Weight of each generator in the blended score (0 turns it off). */
    weights: z
      .object({
        ann: z.number().min(0).default(1),
        session: z.number().min(0).default(2),
        popularity: z.number().min(0).default(0.3),
        fresh: z.number().min(0).default(0.1),
        similar: z.number().min(0).default(2),
        interests: z.number().min(0).default(1),
        /** Proposes only for users without a trained vector, where the release's gate let it (generators/two-tower.ts). */
        'two-tower': z.number().min(0).default(1),
      })
      .strict()
      .default({ ann: 1, session: 2, popularity: 0.3, fresh: 0.1, similar: 2, interests: 1, 'two-tower': 1 }),
    /** Rank by the release's learned ranker where it won its gate (false: the blend always ranks). */
    ranker: z.boolean().default(true),
    /**
     * The ranker scores only the blend's best this many candidates (its cost grows with them);
     * the rest follow in the blend's order, below every ranked one. On ML-100K's validation
     * users (bench/serving/ranker-depth.ts) NDCG@10 is flat from 75 on (0.2012 at 75, 0.2009 at
     * 100, 0.2010 with every candidate, ~330 a request) and falls below (0.1997 at 50).
     */
    rankerCandidates: z.number().int().min(10).max(2_000).default(100),
    /** How much the session's items move the user's vector for the ANN query (0..1). */
    sessionWeight: z.number().min(0).max(1).default(0.5),
    /**
     * A new user's vector folded in from a few session items is pulled toward the mean item
     * vector (what most users like) by this many times its own length: with one to five items
     * the fold-in alone overfits them (chosen on validation users by `cairn bench cold-users`).
     */
    newUserPrior: z.number().min(0).max(100).default(16),
    /**
     * A new user's popularity generator pools their cohort's popularity with their session items'
     * co-occurrences, the cohort counting as this many session items (generators/new-user-estimate.ts;
     * chosen on validation users by `cairn bench cold-users`).
     */
    newUserShrinkage: z.number().min(0).max(1000).default(32),
    /**
     * The blend's weights, over `weights`, for a user the release does not know once their session
     * has items: popularity (now their estimate) and the fold-in's kNN, then the session's
     * categories; session neighbours add nothing the estimate lacks (chosen on validation users by
     * `cairn bench cold-users`). With nothing known yet, `weights` rank, so onboarding interests
     * steer at full weight.
     */
    newUserWeights: z
      .partialRecord(z.enum(generatorNames), z.number().min(0))
      .default({ ann: 1, session: 0, popularity: 1, interests: 0.2 }),
    /** MMR: λ × relevance − (1 − λ) × max similarity to the items already chosen; 1 turns it off. */
    mmrLambda: z.number().min(0).max(1).default(0.8),
    /** At most this many items of one category in the first `categoryCapWindow` positions. */
    categoryCap: z.number().int().min(1).max(100).default(3),
    categoryCapWindow: z.number().int().min(1).max(100).default(10),
    /** An item created within this many days of the catalog's newest item is fresh. */
    freshDays: z.number().min(0).default(7),
    /** 1-based position reserved for a fresh item when the slate has none; 0 turns it off. */
    freshSlot: z.number().int().min(0).max(100).default(5),
    /** ε-greedy: each slot is an exploration slot with this probability. */
    explorationRate: z.number().min(0).max(1).default(0.05),
    /** 1-based position that an item under an exploration budget may take; 0 turns it off. */
    budgetSlot: z.number().int().min(0).max(100).default(3),
    /** Probability that the budget slot goes to an exploring item, when the replica holds impressions of one. */
    budgetSlotRate: z.number().min(0).max(1).default(0.3),
    /** Business rules applied last, in order. */
    businessRules: z.array(z.enum(['demote_low_quality', 'drop_adult'])).default(['drop_adult']),
  })
  .strict();
export type PipelineParams = z.output<typeof pipelineParamsSchema>;

/**
 * The models a variant serves instead of the champion's. A release is one retrieval model
 * version with the ranker trained with it: the ranker's feature tables index that release's own
 * users and items, so it cannot be paired with another release's vectors (`params.ranker: false`
 * serves the release without its ranker).
 */
const variantModelsSchema = z
  .object({
    /** The retrieval release this variant serves, whatever the champion; unset, it follows the champion. */
    release: z.string().min(1).max(128),
  })
  .strict();

const variantSchema = z
  .object({
    name: z.string().min(1).max(64),
    /** Share of users, 0..1; the shares of all variants sum to 1. */
    share: z.number().min(0).max(1),
    params: pipelineParamsSchema.partial().default({}),
    models: variantModelsSchema.optional(),
  })
  .strict();

export const servingConfigSchema = z
  .object({
    pipeline: pipelineParamsSchema.default(pipelineParamsSchema.parse({})),
    variants: z
      .array(variantSchema)
      .min(1)
      .default([{ name: 'control', share: 1, params: {} }])
      .refine(
        (v) => Math.abs(v.reduce((sum, x) => sum + x.share, 0) - 1) < 1e-9,
        'variant shares must sum to 1',
      )
      .refine((v) => new Set(v.map((x) => x.name)).size === v.length, 'variant names must be unique'),
    /** Changing the salt reshuffles every user's variant: a new experiment. */
    salt: z.string().min(1).default('cairn-ab-1'),
    /**
     * Where the ANN generator searches. `auto`: in process (exact) when the release has at most
     * `inProcessSearchCells` item × dimension cells, since a scan of a small catalog is exact and
     * faster than a round trip; Elasticsearch kNN above that, with the in-process search as the
     * degraded fallback.
     */
    search: z.enum(['auto', 'elasticsearch', 'in-process']).default('auto'),
    inProcessSearchCells: z.number().int().min(0).default(4_000_000),
    /** Whole-request budget: past it, the slate is built from what is in memory and marked degraded. */
    deadlineMs: z.number().int().min(1).max(10_000).default(50),
    /** Budget of one Elasticsearch kNN call; over it, the in-process search answers. */
    searchBudgetMs: z.number().int().min(1).max(10_000).default(20),
    /** After a failed or slow search, Elasticsearch is skipped for this long. */
    searchCooldownMs: z.number().int().min(0).max(600_000).default(2_000),
    /** Requests in flight per replica; more are refused with `overloaded` at once. */
    maxInFlight: z.number().int().min(1).max(100_000).default(256),
    /** How often the champion is checked for a promotion. */
    championPollMs: z.number().int().min(100).max(600_000).default(2_000),
    /** A promoted release not loaded within this is given up on and tried again at the next poll. */
    releaseLoadMs: z.number().int().min(100).max(3_600_000).default(120_000),
    impressions: z
      .object({
        batchSize: z.number().int().min(1).max(10_000).default(500),
        flushMs: z.number().int().min(1).max(60_000).default(200),
      })
      .strict()
      .default({ batchSize: 500, flushMs: 200 }),
  })
  .strict();

export type ServingConfig = z.output<typeof servingConfigSchema>;
export type ServingConfigInput = z.input<typeof servingConfigSchema>;

export class ServingConfigError extends Error {
  override name = 'ServingConfigError';
}

export function parseServingConfig(input: unknown, source = 'serving config'): ServingConfig {
  const parsed = servingConfigSchema.safeParse(input ?? {});
  if (!parsed.success) throw new ServingConfigError(`invalid ${source}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

export async function readServingConfig(file: string): Promise<ServingConfig> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ServingConfigError(`cannot read serving config ${file}: ${(error as Error).message}`);
  }
  return parseServingConfig(json, `serving config ${file}`);
}

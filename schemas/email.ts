/**
 * The email surface: which users a campaign composes slates for (the segment), the campaign's
 * input, and the message each user's slate becomes on `cairn.email-slates.v1`.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

const entityId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

/**
 * The age bands of the cohorts serving's cohort popularity uses (services/models/popularity.ts
 * `ageBand`, by index): a cohort segment names a band as a person would read it.
 */
export const ageBandLabels = ['under-18', '18-24', '25-34', '35-44', '45-49', '50-55', '56+'] as const;

const cohortSegmentSchema = z
  .object({
    kind: z.literal('cohort'),
    gender: z.string().min(1).max(32).optional(),
    ageBand: z.enum(ageBandLabels).optional(),
    occupation: z.string().min(1).max(64).optional(),
  })
  .strict()
  .refine((c) => c.gender !== undefined || c.ageBand !== undefined || c.occupation !== undefined, {
    message: 'a cohort names at least one of gender, ageBand, occupation',
  });

export const emailSegmentSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('all') }).strict(),
  cohortSegmentSchema,
  /** Users with an interaction within this many days of the newest interaction the release saw. */
  z
    .object({ kind: z.literal('active'), days: z.number().int().min(1).max(3_650) })
    .strict(),
  z
    .object({ kind: z.literal('users'), userIds: z.array(entityId).min(1).max(10_000) })
    .strict()
    .refine((s) => new Set(s.userIds).size === s.userIds.length, {
      message: 'user ids must be unique',
      path: ['userIds'],
    }),
]);
export type EmailSegment = z.output<typeof emailSegmentSchema>;

export const campaignSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash and underscore only');

export const emailSlatesInputSchema = z
  .object({
    segment: emailSegmentSchema,
    k: z.number().int().min(1).max(100).default(10),
    batchSize: z.number().int().min(1).max(5_000).default(200),
    campaign: campaignSchema,
  })
  .strict();
export type EmailSlatesRequest = z.output<typeof emailSlatesInputSchema>;

export const emailSlateSchema = z
  .object({
    campaign: campaignSchema,
    userId: entityId,
    /** The same for every composition of this campaign's slate for this user: consumers dedupe on it. */
    slateId: z.uuid(),
    releaseVersion: z.string().min(1),
    items: z.array(
      z
        .object({
          itemId: entityId,
          rank: z.number().int().min(1),
          score: z.number(),
          reasons: z
            .object({ generators: z.array(z.string()), exploration: z.boolean(), fresh: z.boolean() })
            .strict(),
        })
        .strict(),
    ),
    /** Epoch milliseconds. */
    composedAt: z.number().int().nonnegative(),
  })
  .strict();
export type EmailSlate = z.output<typeof emailSlateSchema>;

/** A UUID-shaped digest of campaign and user: a retried batch re-sends the same ids. */
export function emailSlateId(campaign: string, userId: string): string {
  const hex = createHash('sha256').update(`email\0${campaign}\0${userId}`).digest('hex');
  // Version 8 (custom) and the RFC 4122 variant, so it is a valid UUID.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((Number.parseInt(hex[16], 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The request-reply contract of `cairn.recommend.v1` (NATS). */
import { z } from 'zod';
import { surfaceSchema } from './events';

const entityId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

export const recommendRequestSchema = z
  .object({
    userId: entityId,
    surface: surfaceSchema.default('homepage'),
    k: z.number().int().min(1).max(100).default(10),
    /** The session's latest items, newest first: they steer this answer and are not recommended back. */
    recentItems: z.array(entityId).max(50).default([]),
  })
  .strict();

export type RecommendRequest = z.output<typeof recommendRequestSchema>;

export interface RecommendedItem {
  itemId: string;
  rank: number;
}

export type RecommendResponse =
  | { ok: true; userId: string; items: RecommendedItem[]; modelVersion: string; strategy: RecommendStrategy }
  | { ok: false; error: string };

/** How the query vector was made: the user's own, steered by the session, or for a new user. */
export type RecommendStrategy = 'user' | 'user+session' | 'session' | 'cold-start';

/**
 * The request-reply contract of `cairn.recommend.v1` (NATS). Version 2 of the body: every field
 * of version 1 keeps its meaning, new fields are optional, and replies only gain fields, so a
 * v1 client keeps working.
 */
import { z } from 'zod';
import { surfaceSchema } from './events';

export const recommendContractVersion = 2;

/** Larger bodies are refused before parsing: a request is a user, a session and a few lists. */
export const maxRequestBytes = 16 * 1024;

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
    /** The context item: what the user is looking at. Required on `item_detail`. */
    itemId: entityId.optional(),
    /** Items the caller will not show (already on the page, in the cart): never returned. */
    exclude: z.array(entityId).max(500).default([]),
    /** Forces an A/B variant (QA, debugging); the assignment by hash is used otherwise. */
    variant: z.string().min(1).max(64).optional(),
    /** Categories the user says they like (a new user's onboarding): candidates are steered toward them. */
    interests: z.array(z.string().min(1).max(64)).max(32).default([]),
  })
  .strict()
  .refine((r) => r.surface !== 'item_detail' || r.itemId !== undefined, {
    message: 'itemId is required on the item_detail surface',
    path: ['itemId'],
    params: { missing: true },
  });

export type RecommendRequest = z.output<typeof recommendRequestSchema>;

/** Every refusal has a stable code a client can branch on, and a message a person can read. */
export const recommendErrorCodes = [
  'body_too_large',
  'empty_body',
  'invalid_utf8',
  'invalid_json',
  'not_an_object',
  'unknown_field',
  'missing_user_id',
  'invalid_user_id',
  'invalid_surface',
  'invalid_k',
  'invalid_recent_items',
  'invalid_exclude',
  'missing_item_id',
  'invalid_item_id',
  'invalid_variant',
  'invalid_interests',
  'unknown_variant',
  'unknown_item',
  'no_model',
  'overloaded',
  'internal',
] as const;
export type RecommendErrorCode = (typeof recommendErrorCodes)[number];

export interface RecommendError {
  code: RecommendErrorCode;
  message: string;
}

/** Why an item is in the slate: the generators that proposed it, and whether it is exploration. */
export interface ItemReasons {
  generators: string[];
  exploration: boolean;
  fresh: boolean;
}

export interface RecommendedItem {
  itemId: string;
  /** 1-based position in the slate. */
  rank: number;
  score: number;
  /** P(this item at this position | the policy): what inverse propensity scoring divides by. */
  propensity: number;
  reasons: ItemReasons;
}

/** Milliseconds spent per stage of the pipeline. */
export interface StageTimings {
  candidates: number;
  filter: number;
  rank: number;
  postprocess: number;
  total: number;
}

export interface RecommendSlate {
  ok: true;
  contract: number;
  slateId: string;
  userId: string;
  surface: RecommendRequest['surface'];
  items: RecommendedItem[];
  /** The retrieval release (kept from v1; `modelVersions` names every model used). */
  modelVersion: string;
  modelVersions: Record<string, string>;
  strategy: RecommendStrategy;
  variant: string;
  timings: StageTimings;
  /** True when a part of the pipeline fell back (search slow or down): the slate is still valid. */
  degraded: boolean;
  degradedReasons: string[];
}

export type RecommendResponse = RecommendSlate | { ok: false; error: RecommendError };

/** How the query vector was made: the user's own, steered by the session, or for a new user. */
export type RecommendStrategy = 'user' | 'user+session' | 'session' | 'cold-start';

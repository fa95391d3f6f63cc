/**
 * The v1 event log: one schema per topic, the single source of truth for every message Cairn
 * produces or consumes. Types are inferred from the schemas, never written by hand.
 */
import { z } from 'zod';

/** Ids are opaque strings; a bound keeps a garbage key from bloating every store it touches. */
const entityId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');
const eventId = entityId;
/** Epoch milliseconds. The lower bound rejects seconds passed where milliseconds are expected. */
const epochMillis = z
  .number()
  .int()
  .min(Date.UTC(1990, 0, 1), 'timestamp before 1990 (seconds instead of ms?)');

export const surfaces = ['homepage', 'item_detail', 'email', 'search', 'import'] as const;
export const surfaceSchema = z.enum(surfaces);

export const interactionTypes = [
  'view',
  'click',
  'add_to_cart',
  'purchase',
  'rating',
  'watch_completion',
] as const;

const interactionBase = {
  eventId,
  userId: entityId,
  itemId: entityId,
  occurredAt: epochMillis,
  surface: surfaceSchema,
  /** Joins the interaction to the impression (slate) that showed the item, when there was one. */
  slateId: entityId.optional(),
};

export const interactionSchema = z.discriminatedUnion('type', [
  z.object({ ...interactionBase, type: z.literal('view') }).strict(),
  z.object({ ...interactionBase, type: z.literal('click') }).strict(),
  z.object({ ...interactionBase, type: z.literal('add_to_cart') }).strict(),
  z.object({ ...interactionBase, type: z.literal('purchase') }).strict(),
  z.object({ ...interactionBase, type: z.literal('rating'), value: z.number().min(0.5).max(5) }).strict(),
  z
    .object({ ...interactionBase, type: z.literal('watch_completion'), value: z.number().min(0).max(1) })
    .strict(),
]);
export type Interaction = z.output<typeof interactionSchema>;
export type InteractionType = Interaction['type'];

export const impressionSchema = z
  .object({
    slateId: entityId,
    userId: entityId,
    surface: surfaceSchema,
    servedAt: epochMillis,
    variant: z.string().min(1).max(64),
    modelVersions: z.record(z.string().min(1), z.string().min(1)),
    items: z
      .array(
        z
          .object({
            itemId: entityId,
            position: z.number().int().min(0),
            score: z.number().refine(Number.isFinite, 'score must be finite'),
            /** P(item shown at this position | policy): what inverse propensity scoring divides by. */
            propensity: z.number().gt(0).max(1),
          })
          .strict(),
      )
      .min(1)
      .max(500),
  })
  .strict();
export type Impression = z.output<typeof impressionSchema>;

export const qualityFlags = ['low_quality', 'missing_metadata', 'duplicate', 'adult'] as const;

const itemContent = {
  title: z.string().min(1).max(500),
  categories: z.array(z.string().min(1).max(64)).max(32),
  year: z.number().int().min(1800).max(2100).nullable(),
  text: z.string().max(10_000).default(''),
  qualityFlags: z.array(z.enum(qualityFlags)).default([]),
};
const catalogBase = { eventId, itemId: entityId, occurredAt: epochMillis };

export const catalogEventSchema = z.discriminatedUnion('type', [
  z.object({ ...catalogBase, type: z.literal('item_created'), ...itemContent }).strict(),
  z
    .object({
      ...catalogBase,
      type: z.literal('item_updated'),
      title: itemContent.title.optional(),
      categories: itemContent.categories.optional(),
      year: itemContent.year.optional(),
      text: z.string().max(10_000).optional(),
      qualityFlags: z.array(z.enum(qualityFlags)).optional(),
    })
    .strict(),
  z.object({ ...catalogBase, type: z.literal('item_retired') }).strict(),
  z.object({ ...catalogBase, type: z.literal('item_blocked'), reason: z.string().min(1).max(500) }).strict(),
]);
export type CatalogEvent = z.output<typeof catalogEventSchema>;

const userBase = { eventId, userId: entityId, occurredAt: epochMillis };

export const userEventSchema = z.discriminatedUnion('type', [
  z
    .object({
      ...userBase,
      type: z.literal('user_created'),
      demographics: z
        .object({
          age: z.number().int().min(1).max(119).optional(),
          gender: z.string().min(1).max(32).optional(),
          occupation: z.string().min(1).max(64).optional(),
          country: z.string().length(2).optional(),
          zip: z.string().max(16).optional(),
        })
        .strict(),
    })
    .strict(),
  z
    .object({
      ...userBase,
      type: z.literal('onboarding_interests'),
      categories: z.array(z.string().min(1)).min(1).max(64),
    })
    .strict(),
]);
export type UserEvent = z.output<typeof userEventSchema>;

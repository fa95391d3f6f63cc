/**
 * The boundary between raw Kafka bytes and typed events: decode, parse, validate against the
 * topic's schema, and check what a schema alone cannot (time). Every rejection carries a reason
 * a person can act on; nothing here throws.
 */
import type { z } from 'zod';
import {
  type CatalogEvent,
  catalogEventSchema,
  type Impression,
  type Interaction,
  impressionSchema,
  interactionSchema,
  type UserEvent,
  userEventSchema,
} from '../../schemas/events';
import type { EventStream } from './topics';

export type StreamEvent =
  | { stream: 'interactions'; event: Interaction }
  | { stream: 'impressions'; event: Impression }
  | { stream: 'catalog'; event: CatalogEvent }
  | { stream: 'users'; event: UserEvent };

export type Validation = { ok: true; value: StreamEvent } | { ok: false; reason: string };

/** Clocks drift and mobile clients batch; beyond this an event's time is not believable. */
export const maxFutureSkewMs = 24 * 60 * 60 * 1000;

/**
 * Far above the largest valid event (a 500-item impression is about 70 KiB): a bigger value is
 * refused before it is decoded, so a producer cannot make every consumer parse megabytes.
 */
export const maxEventBytes = 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

const schemaOf: Record<EventStream, z.ZodType> = {
  interactions: interactionSchema,
  impressions: impressionSchema,
  catalog: catalogEventSchema,
  users: userEventSchema,
};

export function validateMessage(stream: EventStream, value: Buffer | null, now = Date.now()): Validation {
  if (value === null || value.length === 0) return { ok: false, reason: 'empty message (no value)' };
  if (value.length > maxEventBytes)
    return { ok: false, reason: `event is ${value.length} bytes, the limit is ${maxEventBytes}` };
  let text: string;
  try {
    text = utf8.decode(value);
  } catch {
    return { ok: false, reason: 'value is not valid UTF-8' };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `invalid JSON: ${(error as Error).message}` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return {
      ok: false,
      reason: `expected a JSON object, got ${Array.isArray(json) ? 'an array' : typeof json}`,
    };

  let parsed: ReturnType<z.ZodType['safeParse']>;
  try {
    parsed = schemaOf[stream].safeParse(json);
  } catch (error) {
    // zod 4.1's record check throws on an own `constructor` key whose value is null.
    return { ok: false, reason: `schema violation: ${(error as Error).message}` };
  }
  if (!parsed.success) return { ok: false, reason: `schema violation: ${describeIssues(parsed.error)}` };
  const value_ = { stream, event: parsed.data } as StreamEvent;
  const time = eventTime(value_);
  if (time > now + maxFutureSkewMs)
    return { ok: false, reason: `timestamp ${describeTime(time)} is more than 24 h in the future` };
  if (value_.stream === 'impressions') {
    const positions = new Set(value_.event.items.map((i) => i.position));
    if (positions.size !== value_.event.items.length)
      return { ok: false, reason: 'impression repeats a position' };
  }
  return { ok: true, value: value_ };
}

export function eventTime(value: StreamEvent): number {
  return value.stream === 'impressions' ? value.event.servedAt : value.event.occurredAt;
}

/** Beyond ±8.64e15 ms a Date is invalid and toISOString throws: such a time is shown as a number. */
function describeTime(time: number): string {
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? `${time} ms` : date.toISOString();
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path.join('.') || '(root)';
      if (issue.code === 'invalid_union' && 'discriminator' in issue) return `${path}: unknown event type`;
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}

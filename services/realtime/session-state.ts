/**
 * The session as a fold over the interaction log: each interaction puts its item at the head of
 * the recent items and counts its categories. Pure, so the consumer's effect is testable without
 * servers and a replayed log folds to the same state.
 */

import { describeIssues } from '../../schemas/issues';
import { type SessionState, sessionStateSchema } from '../../schemas/session';

export interface SessionLimits {
  /** Recent items kept per user: as many as a request may send. */
  recentKept: number;
  /** Interactions older than this (by their own time) are not part of a session. */
  ttlMs: number;
}

export interface SessionEvent {
  itemId: string;
  occurredAt: number;
  categories: readonly string[];
  partition: number;
  offset: string;
}

/**
 * The session after one more interaction, or undefined when the event changes nothing: it is
 * older than the session window, or its offset was already applied (a redelivery).
 */
export function applyToSession(
  state: SessionState | undefined,
  event: SessionEvent,
  limits: SessionLimits,
  now: number,
): SessionState | undefined {
  if (event.occurredAt < now - limits.ttlMs) return undefined;
  const partition = String(event.partition);
  const through = state?.through[partition];
  if (through !== undefined && BigInt(event.offset) <= BigInt(through)) return undefined;
  const categories = { ...state?.categories };
  for (const category of new Set(event.categories)) categories[category] = (categories[category] ?? 0) + 1;
  const recent = [event.itemId, ...(state?.recent ?? []).filter((id) => id !== event.itemId)].slice(
    0,
    limits.recentKept,
  );
  return {
    recent,
    categories,
    lastSeenAt: Math.max(state?.lastSeenAt ?? 0, event.occurredAt),
    through: { ...state?.through, [partition]: event.offset },
  };
}

/**
 * The session a request is answered with: the caller's recent items first (it may know of
 * interactions the log has not delivered yet), then the logged session's, distinct, at most `limit`.
 */
export function mergeRecent(
  requested: readonly string[],
  session: SessionState | undefined,
  limit: number,
): string[] {
  return [...new Set([...requested, ...(session?.recent ?? [])])].slice(0, limit);
}

/** The session's categories, most interacted first. */
export function topCategories(session: SessionState | undefined, limit: number): string[] {
  if (session === undefined) return [];
  return Object.entries(session.categories)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, limit)
    .map(([category]) => category);
}

export function encodeSession(state: SessionState): string {
  return JSON.stringify(state);
}

export class SessionDecodeError extends Error {
  override name = 'SessionDecodeError';
}

export function decodeSession(text: string, key: string): SessionState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SessionDecodeError(`session ${key}: not JSON: ${(error as Error).message}`);
  }
  const parsed = sessionStateSchema.safeParse(json);
  if (!parsed.success) throw new SessionDecodeError(`session ${key}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/**
 * Raw bytes → a valid request or a coded refusal, before any work is done: the body's size,
 * encoding and shape are checked in that order, and the first problem names its field.
 */
import type { z } from 'zod';
import { describeIssues } from '../../schemas/issues';
import {
  maxRequestBytes,
  type RecommendError,
  type RecommendErrorCode,
  type RecommendRequest,
  recommendRequestSchema,
} from '../../schemas/recommend';

export type ParsedRequest = { ok: true; request: RecommendRequest } | { ok: false; error: RecommendError };

const utf8 = new TextDecoder('utf-8', { fatal: true });

const invalidField: Record<string, RecommendErrorCode> = {
  userId: 'invalid_user_id',
  surface: 'invalid_surface',
  k: 'invalid_k',
  recentItems: 'invalid_recent_items',
  exclude: 'invalid_exclude',
  itemId: 'invalid_item_id',
  variant: 'invalid_variant',
  interests: 'invalid_interests',
};

const refuse = (code: RecommendErrorCode, message: string): ParsedRequest => ({
  ok: false,
  error: { code, message },
});

export function parseRequest(body: Uint8Array): ParsedRequest {
  if (body.byteLength > maxRequestBytes)
    return refuse(
      'body_too_large',
      `request body is ${body.byteLength} bytes, the limit is ${maxRequestBytes}`,
    );
  if (body.byteLength === 0) return refuse('empty_body', 'request body is empty');
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return refuse('invalid_utf8', 'request body is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return refuse('invalid_json', `invalid JSON: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return refuse(
      'not_an_object',
      `expected a JSON object, got ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json}`,
    );
  const parsed = recommendRequestSchema.safeParse(json);
  if (parsed.success) return { ok: true, request: parsed.data };
  const issue = parsed.error.issues[0];
  return {
    ok: false,
    error: { code: codeOf(issue, json as Record<string, unknown>), message: describeIssues(parsed.error) },
  };
}

function codeOf(issue: z.core.$ZodIssue, body: Record<string, unknown>): RecommendErrorCode {
  if (issue.code === 'unrecognized_keys') return 'unknown_field';
  const field = String(issue.path[0] ?? '');
  if (issue.code === 'custom' && field === 'itemId') return 'missing_item_id';
  if (field === 'userId' && body.userId === undefined) return 'missing_user_id';
  return invalidField[field] ?? 'internal';
}

import { ConfigError } from '../services/config/environment';

/**
 * What a failed command prints. A Temporal failure nests the reason (an activity's error inside
 * the activity failure inside the workflow failure), so a chain of causes is printed message by
 * message, down to the one that says what went wrong; an error without causes keeps its stack.
 */
export function describeFailure(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  if (!(error instanceof Error)) return String(error);
  if (!(error.cause instanceof Error)) return error.stack ?? error.message;
  const messages: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause)
    if (e.message !== messages.at(-1)) messages.push(e.message);
  return messages.join('\n  because: ');
}

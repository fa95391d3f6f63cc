/**
 * Waiting on the real servers, in tests and in the fault harness: every wait has a deadline and
 * names what it waited for, so a state that never comes (or came and went between polls) fails
 * with a message instead of hanging.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** What is awaited, for the failure message. */
  what: string;
  timeoutMs: number;
  pollMs?: number;
}

/** Polls until `condition` holds (returns true or a non-undefined value) and returns that value. */
export async function waitFor<T>(
  condition: () => T | undefined | false | Promise<T | undefined | false>,
  { what, timeoutMs, pollMs = 100 }: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

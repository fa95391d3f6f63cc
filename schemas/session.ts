/**
 * A user's real-time session as kept in the JetStream key-value bucket `cairn-sessions` (key:
 * the user id, encoded like the exploration budget keys), written by the session consumer and
 * read by every serving replica.
 */
import { z } from 'zod';

export const sessionStateSchema = z
  .object({
    /** Distinct item ids, newest first. */
    recent: z.array(z.string().min(1).max(128)),
    /** Interactions per category of the session's items. */
    categories: z.record(z.string().min(1), z.number().int().min(1)),
    /** Time of the newest interaction applied, epoch milliseconds. */
    lastSeenAt: z.number().int().min(0),
    /** Per partition of the interaction log, the last offset applied: a redelivered event is a no-op. */
    through: z.record(z.string().regex(/^\d+$/), z.string().regex(/^\d+$/)),
  })
  .strict();

export type SessionState = z.output<typeof sessionStateSchema>;

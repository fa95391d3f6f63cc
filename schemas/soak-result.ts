/**
 * The result of `cairn bench soak`, as it keeps it in CAIRN_STATE/reports (`{command, result}`)
 * and the report reads it back. JSON writes NaN (a figure that could not be had) as null; it is
 * read back as NaN.
 */
import { z } from 'zod';

const figure = z
  .number()
  .nullable()
  .transform((x) => x ?? Number.NaN);

export const soakWindowSchema = z.object({
  /** Seconds since the load started, at the window's end. */
  at: z.number(),
  /**
   * Resident MiB per process (its process tree), the lowest and highest of the window's 1 s
   * samples: garbage waiting for a collection swings RSS by tens of MiB within seconds, so the
   * floor is what a leak raises.
   */
  rssMiB: z.record(z.string(), figure),
  peakMiB: z.record(z.string(), figure),
  sent: z.number(),
  answered: z.number(),
  p50: figure,
  p99: figure,
  errors: z.number(),
  timeouts: z.number(),
  clicks: z.number(),
  /** The machine's 1-minute load average at the window's end: every figure here is under it. */
  load: z.number(),
  /** The retrieval release most replies of the window came from. */
  release: z.string(),
});

export const processVerdictSchema = z.object({
  process: z.string(),
  firstMiB: figure,
  peakMiB: figure,
  lastMiB: figure,
  /** Least-squares slope of the windows' RSS floors over the steady part. */
  slopeMiBPerMinute: figure,
  /** Whether the steady part was long enough for the RSS slope to count. */
  rssJudged: z.boolean(),
  /** Major collections in the steady part, over all of the process's isolates. */
  collections: z.number(),
  /** Heap after the last major collection of the main isolate. */
  heapLastMiB: figure,
  /**
   * The steepest least-squares slope of heap-after-collection among the isolates with enough
   * collections in the steady part; NaN when none has.
   */
  heapSlopeMiBPerMinute: figure,
  flat: z.boolean(),
});

export const soakResultSchema = z.object({
  windows: z.array(soakWindowSchema),
  /** Seconds since the load started from which memory is judged. */
  steadyFrom: figure,
  verdicts: z.array(processVerdictSchema),
  requests: z.number(),
  errors: z.number(),
  /** Error replies by their code. */
  errorCodes: z.record(z.string(), z.number()),
  timeouts: z.number(),
  clicksProduced: z.number(),
  clickSendErrors: z.number(),
  /** Acknowledged clicks that are not in the store at the end. */
  clicksMissing: z.number(),
  retrain: z.object({
    startedAt: figure,
    finishedAt: figure.optional(),
    promoted: z.boolean().optional(),
    reason: z.string().optional(),
    from: z.string(),
    to: z.string().optional(),
    /** Seconds since the load started of the first reply from the new release. */
    pickedUpAt: figure.optional(),
  }),
  memoryFlat: z.boolean(),
  errorsWithinBound: z.boolean(),
  /** Ended early by SIGINT/SIGTERM: never a pass. */
  interrupted: z.boolean(),
  /** Children that exited before the load stopped, with their exit code or signal. */
  exitedEarly: z.array(z.string()),
  passed: z.boolean(),
});

/** The file `cairn bench soak` writes. */
export const soakFileSchema = z.object({ command: z.string(), result: soakResultSchema });

export type SoakWindow = z.output<typeof soakWindowSchema>;
export type ProcessVerdict = z.output<typeof processVerdictSchema>;
export type SoakResult = z.output<typeof soakResultSchema>;

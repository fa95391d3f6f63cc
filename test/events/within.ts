/** A deadline for one promise (a child's exit, a workflow's result), through waitFor. */
import { type WaitOptions, waitFor } from '../support/wait';

export async function within<T>(promise: Promise<T>, options: WaitOptions): Promise<T> {
  let outcome: { value: T } | { error: unknown } | undefined;
  promise.then(
    (value) => {
      outcome = { value };
    },
    (error: unknown) => {
      outcome = { error };
    },
  );
  const settled = await waitFor(() => outcome, options);
  if ('error' in settled) throw settled.error;
  return settled.value;
}

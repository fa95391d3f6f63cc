/** Permanent failures as Temporal reports them: non-retryable, with a type from temporal.config.ts. */
import { ApplicationFailure } from '@temporalio/common';
import type { PermanentFailureType } from '../../temporal.config';

export function permanentFailure(type: PermanentFailureType, error: Error | string): ApplicationFailure {
  return typeof error === 'string'
    ? ApplicationFailure.create({ type, message: error, nonRetryable: true })
    : ApplicationFailure.create({ type, message: error.message, nonRetryable: true, cause: error });
}

/**
 * Failures are written into workflow histories, which outlive the processes and are read by
 * whoever can see the namespace: an activity error that quotes a client's error (a connection
 * string, a credential) is masked before it is recorded. Loaded by path (the worker's
 * `dataConverter.failureConverterPath`), also inside the workflow sandbox.
 */
import { DefaultFailureConverter, type PayloadConverter, type ProtoFailure } from '@temporalio/common';
import { redactSecrets } from '../config/redaction';

function redacted(failure: ProtoFailure): ProtoFailure {
  return {
    ...failure,
    message: failure.message == null ? failure.message : redactSecrets(failure.message),
    stackTrace: failure.stackTrace == null ? failure.stackTrace : redactSecrets(failure.stackTrace),
    cause: failure.cause == null ? failure.cause : redacted(failure.cause),
  };
}

class RedactingFailureConverter extends DefaultFailureConverter {
  override errorToFailure(error: unknown, payloadConverter: PayloadConverter): ProtoFailure {
    return redacted(super.errorToFailure(error, payloadConverter));
  }
}

export const failureConverter = new RedactingFailureConverter();

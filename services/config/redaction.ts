/**
 * Masks secrets in text that is printed or recorded (errors, stack status, workflow histories).
 * No Node imports: the failure converter that uses it also runs in the workflow sandbox.
 */

/** The variables whose values are secrets. */
export const secretVariables = [
  'NATS_PASSWORD',
  'NATS_TOKEN',
  'KAFKA_SASL_PASSWORD',
  'ELASTICSEARCH_API_KEY',
  'ELASTICSEARCH_PASSWORD',
] as const;

/** A URL, or a comma-separated list of them, with any credentials in it (user:password@) masked. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@\s,]+@/g, '//***@');
}

/**
 * `text` with the value of every secret variable of `source` masked, and credentials in URLs:
 * for anything printed that may hold a client's error or a setting (errors, status, reports).
 */
export function redactSecrets(text: string, source: Record<string, unknown> = processEnvironment()): string {
  let redacted = redactUrl(text);
  for (const variable of secretVariables) {
    const value = source[variable];
    if (typeof value === 'string' && value !== '') redacted = redacted.replaceAll(value, '***');
  }
  return redacted;
}

/** The workflow sandbox has no `process`: there, only credentials in URLs are masked. */
function processEnvironment(): Record<string, unknown> {
  return typeof process === 'undefined' ? {} : process.env;
}

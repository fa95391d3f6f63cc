/**
 * The structured log of Cairn's long-running processes (serve, consume, realtime, worker): one
 * JSON object per line on stderr, at the level CAIRN_LOG_LEVEL names. Stdout stays for what a
 * command prints for people (tables, progress), so JSON never mixes into it.
 */
import pino, { type Logger } from 'pino';
import { type LogLevel, logLevelSchema } from '../../schemas/config';
import { redactSecrets, secretVariables } from '../config/redaction';

export type { Logger };

/** Where finished lines go: stderr, or a test's collector. */
export interface LogSink {
  write(line: string): void;
}

/**
 * A secret is masked in the finished line, whatever field, message or error stack carries it:
 * as it is, and as JSON writes it (a secret with a quote or backslash is escaped in the line).
 */
function redacting(sink: LogSink, source: Record<string, unknown>): LogSink {
  return {
    write(line) {
      const escaped: Record<string, string> = {};
      for (const variable of secretVariables) {
        const value = source[variable];
        if (typeof value === 'string' && value !== '') escaped[variable] = JSON.stringify(value).slice(1, -1);
      }
      sink.write(redactSecrets(redactSecrets(line, source), escaped));
    },
  };
}

export interface LoggerOptions {
  level: LogLevel;
  /**
   * Default: process.stderr, which Node writes synchronously to files and pipes, so the last
   * lines before an exit are not lost.
   */
  sink?: LogSink;
  /** Where the secrets to mask are read (default: the process environment). */
  secrets?: Record<string, unknown>;
}

export function createLogger({ level, sink, secrets = process.env }: LoggerOptions): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Temporal's log entries carry their error under `error`.
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    redacting(sink ?? { write: (line) => process.stderr.write(line) }, secrets),
  );
}

/**
 * The configured level; an invalid one falls back to info here, since readSettings has already
 * refused it with a message naming the variable.
 */
export function configuredLogLevel(source: Record<string, string | undefined> = process.env): LogLevel {
  const parsed = logLevelSchema.safeParse(source.CAIRN_LOG_LEVEL ?? 'info');
  return parsed.success ? parsed.data : 'info';
}

/** The process's log. */
export const log: Logger = createLogger({ level: configuredLogLevel() });

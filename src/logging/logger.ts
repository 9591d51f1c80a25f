import { pino, type Logger, type DestinationStream } from 'pino';
import { REDACTED, sensitiveKeys, type Redactor } from './redactor.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** @default 'info' */
  level?: string | undefined;
  /** Where lines go. @default stdout */
  destination?: DestinationStream | undefined;
  /** Component name added to every line. */
  name?: string | undefined;
}

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const key of sensitiveKeys) {
    paths.push(key, `*.${key}`, `*.*.${key}`, `headers["${key}"]`, `*.headers["${key}"]`);
  }
  return paths;
}

/**
 * Build the process logger. Structured JSON lines (pino); sensitive keys are censored by path and
 * every serialized line passes through the {@link Redactor}, the single choke point for I11.
 */
export function createLogger(redactor: Redactor, options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      ...(options.name ? { name: options.name } : {}),
      redact: { paths: redactPaths(), censor: REDACTED },
      hooks: {
        streamWrite: (line: string) => redactor.scrubLogLine(line),
      },
      serializers: {
        err: (error: unknown) => serializeError(error),
        error: (error: unknown) => serializeError(error),
      },
    },
    options.destination ?? pino.destination({ sync: true }),
  );
}

/** Errors become code + message (+ cause chain); stack traces stay out of info logs. */
export function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const out: Record<string, unknown> = { type: error.name, message: error.message };
  const withCode = error as Error & { code?: unknown; status?: unknown; retryable?: unknown };
  if (withCode.code !== undefined) out.code = withCode.code;
  if (withCode.status !== undefined) out.status = withCode.status;
  if (withCode.retryable !== undefined) out.retryable = withCode.retryable;
  if (error.cause !== undefined) out.cause = serializeError(error.cause);
  return out;
}

/**
 * The one error hierarchy of the project. Every error that crosses a module boundary is a
 * {@link SyncError}: a stable string `code` (documented, safe to match on), a `retryable` flag that
 * the engine's retry policy reads, and an optional `cause`.
 *
 * Messages never contain secrets or personal data (invariant I11): they name ids, tables, fields,
 * files and line numbers, never values.
 */
export class SyncError extends Error {
  /** Stable machine-readable code, e.g. `CONFIG_INVALID`, `CAMPAIGN_HTTP_500`. */
  readonly code: string;
  /** Whether retrying the same operation later can succeed. */
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** The configuration is wrong; fixing the file (or environment) is the only remedy. */
export class ConfigError extends SyncError {
  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(options.code ?? 'CONFIG_INVALID', message, { retryable: false, cause: options.cause });
  }
}

/** A remote system (Dataverse, Campaign, Privacy Service, SFTP) answered with an error. */
export class ConnectorError extends SyncError {
  /** HTTP status when the remote answered over HTTP; undefined for transport failures. */
  readonly status: number | undefined;
  /** Which remote: `dynamics`, `campaign`, `privacy`, `sftp`, `ims`, `entra`. */
  readonly target: string;

  constructor(
    target: string,
    code: string,
    message: string,
    options: { status?: number; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(code, message, { retryable: options.retryable ?? false, cause: options.cause });
    this.target = target;
    this.status = options.status;
  }
}

/** The remote asked us to slow down (HTTP 429 or a service-protection error). */
export class RateLimitedError extends ConnectorError {
  /** How long the remote asked us to wait, when it said so (`Retry-After`). */
  readonly retryAfterMs: number | undefined;

  constructor(
    target: string,
    message: string,
    options: { retryAfterMs?: number; code?: string; status?: number; cause?: unknown } = {},
  ) {
    super(target, options.code ?? 'RATE_LIMITED', message, {
      status: options.status ?? 429,
      retryable: true,
      cause: options.cause,
    });
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The remote refused this record for a reason that retrying will not fix (validation, conflict). */
export class RecordRejectedError extends SyncError {
  readonly recordKey: string;

  constructor(recordKey: string, code: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { retryable: false, cause: options.cause });
    this.recordKey = recordKey;
  }
}

/** The state store failed (database unreachable, constraint broken, migration missing). */
export class StoreError extends SyncError {
  constructor(code: string, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** True for errors the engine may retry. Unknown errors are treated as retryable transport faults. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof SyncError) return error.retryable;
  return true;
}

/** Best-effort stable code for any thrown value. */
export function errorCode(error: unknown): string {
  if (error instanceof SyncError) return error.code;
  return 'UNEXPECTED';
}

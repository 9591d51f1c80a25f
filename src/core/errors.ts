import {
  describeErrorCode,
  type ConfigErrorCode,
  type ErrorArea,
  type ErrorCode,
  type RemoteErrorCode,
  type StoreErrorCode,
  type ThrottledRemoteCode,
} from './error-catalogue.js';
import type { ErrorKind } from './error-kind.js';

/**
 * The one error hierarchy of the project. Every error that crosses a module boundary is a
 * {@link SyncError}: a stable `code` from the catalogue (`src/core/error-catalogue.ts`, documented in
 * docs/errors.md, safe to match on), and from the code its `area`, its `kind` and whether it is
 * `retryable`. The kind decides the HTTP status and the retry; the area the CLI's exit code. Neither
 * is chosen where the error is thrown: a code means one thing everywhere.
 *
 * Messages never contain secrets or personal data (invariant I11): they name ids, tables, fields,
 * files and line numbers, never values.
 */
export class SyncError extends Error {
  /** Stable machine-readable code, e.g. `CONFIG_INVALID`, `CAMPAIGN_HTTP_500`. */
  readonly code: ErrorCode;
  /** What kind of failure this is (from the code). */
  readonly kind: ErrorKind;
  /** The room or remote system the code belongs to (from the code). */
  readonly area: ErrorArea;
  /** Whether retrying the same operation later can succeed (from the code: its kind, or its own rule). */
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    // Only a cast or a code from an older build can miss the catalogue: treat it as a bug, not retried.
    const described = describeErrorCode(code);
    this.kind = described?.kind ?? 'internal';
    this.area = described?.area ?? 'core';
    this.retryable = described?.retryable ?? false;
  }
}

/** The configuration is wrong; fixing the file (or environment) is the only remedy. */
export class ConfigError extends SyncError {
  constructor(message: string, options: { code?: ConfigErrorCode; cause?: unknown } = {}) {
    super(options.code ?? 'CONFIG_INVALID', message, { cause: options.cause });
  }
}

/** A remote system (Dataverse, Campaign, Privacy Service, SFTP) answered with an error. */
export class ConnectorError extends SyncError {
  /** HTTP status when the remote answered over HTTP; undefined for transport failures. */
  readonly status: number | undefined;
  /** Which remote: `dynamics`, `campaign`, `privacy`, `sftp`, `ims`, `entra`, `alert-webhook`. */
  readonly target: string;

  constructor(
    target: string,
    code: RemoteErrorCode,
    message: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(code, message, { cause: options.cause });
    this.target = target;
    this.status = options.status;
  }
}

/**
 * The remote is not set up the way every record of a flow needs (e.g. Campaign addresses records
 * by an identification key that is not declared). No record can succeed until the operator fixes
 * the remote, so the engine does not fail records one by one (no dead-letter flood): it puts the
 * change back, pauses the flow with this message — which names exactly what to fix and where —
 * and raises one alert. Resuming the flow retries the changes.
 */
export class RemoteSetupError extends ConnectorError {}

/** The remote asked us to slow down (HTTP 429 or a service-protection error), or a budget is spent. */
export class RateLimitedError extends ConnectorError {
  /** How long the remote asked us to wait, when it said so (`Retry-After`). */
  readonly retryAfterMs: number | undefined;

  constructor(
    target: string,
    message: string,
    options: { code: ThrottledRemoteCode; retryAfterMs?: number; status?: number; cause?: unknown },
  ) {
    super(target, options.code, message, { status: options.status ?? 429, cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** This record cannot be applied for a reason that retrying will not fix (its data, its links). */
export class RecordRejectedError extends SyncError {
  readonly recordKey: string;

  constructor(recordKey: string, code: ErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
    this.recordKey = recordKey;
  }
}

/** The state store failed (database unreachable, constraint broken, migration missing). */
export class StoreError extends SyncError {
  constructor(code: StoreErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** True for errors the engine may retry. Unknown errors are treated as retryable transport faults. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof SyncError) return error.retryable;
  return true;
}

/** Best-effort stable code for any thrown value. */
export function errorCode(error: unknown): ErrorCode {
  if (error instanceof SyncError) return error.code;
  return 'UNEXPECTED';
}

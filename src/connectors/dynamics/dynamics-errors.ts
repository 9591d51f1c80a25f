import { ConnectorError, RateLimitedError } from '../../core/errors.js';

/** Platform error codes the client reacts to (hex, as the Web API returns them). */
export const dataversePlatformCodes = {
  expiredVersionStamp: '0x80044352',
  changeTrackingNotEnabled: '0x80072491',
  duplicateRecord: '0x80040237',
  /** DuplicateRecordEntityKey: a create or update would repeat an alternate key's values (HTTP 412). */
  duplicateEntityKey: '0x80060892',
  /** Service protection: number of requests, combined execution time, concurrent requests (HTTP 429). */
  throttleRequests: '0x80072322',
  throttleExecutionTime: '0x80072321',
  throttleConcurrency: '0x80072326',
  versionMismatch: '0x80060882',
  objectDoesNotExist: '0x80040217',
} as const;

/**
 * The delta link (or a change-tracking paging link) is older than the environment's change
 * retention (`ExpiredVersionStamp`, 0x80044352). Retrying it cannot succeed: the engine discards
 * the link and runs a fresh initial sync (a re-baseline), treating rows it no longer sees as deleted.
 */
export class DeltaTokenExpiredError extends ConnectorError {
  /** Logical name or entity set of the table whose link expired. */
  readonly table: string;

  constructor(table: string, message: string, options: { status?: number; cause?: unknown } = {}) {
    super('dynamics', 'DYNAMICS_DELTA_EXPIRED', message, {
      ...(options.status !== undefined ? { status: options.status } : {}),
      cause: options.cause,
    });
    this.table = table;
  }
}

/**
 * A delta link (or a page of a delta read) was refused with a 4xx the client does not know — not
 * the documented ExpiredVersionStamp, not an authorization, privilege, throttling or change-tracking
 * answer. Whether Dataverse has other ways of refusing an old delta link is not documented, so the
 * safe reading is the same as for an expired one: the link cannot be followed, re-read the table
 * (re-baseline) rather than retry a link that keeps being refused. Only delta reads are read this
 * way; a full read refused with a 4xx stays an error (re-reading would meet it again).
 */
export class DeltaLinkRefusedError extends ConnectorError {
  readonly table: string;

  constructor(table: string, message: string, options: { status: number; cause?: unknown }) {
    super('dynamics', 'DYNAMICS_DELTA_LINK_REFUSED', message, options);
    this.table = table;
  }
}

/**
 * 4xx answers to a delta link that keep their own meaning (never read as a refused link): sign-in
 * (401), privileges (403), timeouts (408) and throttling (429). Re-reading the table would meet them
 * again; they surface as themselves.
 */
const deltaAnswersWithOwnMeaning: ReadonlySet<number> = new Set([401, 403, 408, 429]);

/**
 * The error a failed delta-read request becomes: an expired link stays {@link DeltaTokenExpiredError}
 * (recognised by its code, whatever the status), a change-tracking refusal keeps its code, and any
 * other 4xx becomes {@link DeltaLinkRefusedError}; 5xx and transport failures are unchanged (retried).
 */
export function asDeltaReadError(error: unknown, table: string): unknown {
  if (!(error instanceof ConnectorError) || error instanceof DeltaTokenExpiredError) return error;
  const status = error.status;
  if (status === undefined || status < 400 || status >= 500) return error;
  if (deltaAnswersWithOwnMeaning.has(status)) return error;
  if (error.code === 'DYNAMICS_CHANGE_TRACKING_DISABLED') return error;
  return new DeltaLinkRefusedError(
    table,
    `${error.message.replace(/\.+$/, '')}. Dataverse refused the delta link of ${table} with an answer that is not the documented ExpiredVersionStamp (0x80044352); the link is given up and the table re-read in full (re-baseline).`,
    { status, cause: error },
  );
}

/** The body Dataverse sends with errors: `{ "error": { "code": "0x…", "message": "…" } }`. */
export interface DataverseErrorBody {
  code: string;
  message: string;
}

export function readErrorBody(body: unknown): DataverseErrorBody | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return { code: typeof code === 'string' ? code : '', message: typeof message === 'string' ? message : '' };
}

/** What the error message says about the request: method and path, never the query (it may hold values). */
export interface RequestDescription {
  method: string;
  /** Path below the API root, e.g. `contacts(…)`, without the query string. */
  resource: string;
  /** Table the request was about, for delta errors. */
  table?: string | undefined;
}

/**
 * Translate a non-success answer into the typed error the engine reads: stable code, honest
 * `retryable`, Retry-After for 429.
 */
export function toDynamicsError(
  status: number,
  body: unknown,
  request: RequestDescription,
  retryAfterMs: number | undefined,
): ConnectorError {
  const remote = readErrorBody(body);
  const remoteText = remote ? ` (${remote.code || 'no code'}): ${remote.message.slice(0, 300)}` : '';
  const where = `Dynamics ${request.method} ${request.resource} failed with HTTP ${status}${remoteText}`;
  if (remote?.code === dataversePlatformCodes.expiredVersionStamp) {
    return new DeltaTokenExpiredError(
      request.table ?? request.resource,
      `${where}. The delta link of ${request.table ?? request.resource} has expired; a full re-sync is needed.`,
      { status },
    );
  }
  if (remote?.code === dataversePlatformCodes.changeTrackingNotEnabled) {
    return new ConnectorError('dynamics', 'DYNAMICS_CHANGE_TRACKING_DISABLED', where, {
      status,
    });
  }
  if (status === 429) {
    return new RateLimitedError('dynamics', where, {
      code: 'DYNAMICS_RATE_LIMITED',
      status,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }
  const code =
    status === 400
      ? 'DYNAMICS_BAD_REQUEST'
      : status === 401
        ? 'DYNAMICS_UNAUTHORIZED'
        : status === 403
          ? 'DYNAMICS_FORBIDDEN'
          : status === 404
            ? 'DYNAMICS_NOT_FOUND'
            : status === 412
              ? remote?.code === dataversePlatformCodes.duplicateRecord ||
                remote?.code === dataversePlatformCodes.duplicateEntityKey ||
                remote?.code === ''
                ? 'DYNAMICS_ALREADY_EXISTS'
                : 'DYNAMICS_PRECONDITION_FAILED'
              : status === 413
                ? 'DYNAMICS_PAYLOAD_TOO_LARGE'
                : (`DYNAMICS_HTTP_${status}` as const);
  return new ConnectorError('dynamics', code, where, { status });
}

/** A transport failure: connection refused or dropped, TLS failure, or our own timeout. */
export function toTransportError(
  error: unknown,
  request: RequestDescription,
  timeoutMs: number,
): ConnectorError {
  const name = error instanceof Error ? error.name : '';
  const code = (error as { code?: unknown } | undefined)?.code;
  const timedOut =
    name === 'TimeoutError' ||
    name === 'AbortError' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT';
  if (timedOut) {
    return new ConnectorError(
      'dynamics',
      'DYNAMICS_TIMEOUT',
      `Dynamics ${request.method} ${request.resource} got no answer within ${timeoutMs} ms`,
      { cause: error },
    );
  }
  const tls =
    typeof code === 'string' &&
    (code.includes('CERT') || code.includes('SELF_SIGNED') || code.startsWith('ERR_TLS'));
  return new ConnectorError(
    'dynamics',
    tls ? 'DYNAMICS_TLS' : 'DYNAMICS_NETWORK',
    `Dynamics ${request.method} ${request.resource} failed: ${typeof code === 'string' ? code : name || 'network error'}`,
    { cause: error },
  );
}

import { remoteErrorAreas, type ErrorArea, type ErrorCode } from '../core/error-catalogue.js';
import type { ErrorKind } from '../core/error-kind.js';
import { SyncError } from '../core/errors.js';
import type { Redactor } from '../logging/redactor.js';

/** The one error body of the API. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** The status of each kind of error (docs/errors.md). */
export const httpStatusByKind: Readonly<Record<ErrorKind, number>> = {
  'not-found': 404,
  conflict: 409,
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  throttled: 429,
  unavailable: 503,
  internal: 500,
};

const remoteAreas: ReadonlySet<ErrorArea> = new Set(remoteErrorAreas);

/**
 * The status of an error, from its kind. A remote system's failure is not the caller's: a Campaign
 * 404 or a refused Dynamics credential must not read as "no such route" or "sign in again", so
 * the remote areas answer 503 when a later attempt can succeed and 502 otherwise.
 */
export function httpStatusOf(error: { area: ErrorArea; kind: ErrorKind; retryable: boolean }): number {
  if (remoteAreas.has(error.area)) return error.retryable ? 503 : 502;
  return httpStatusByKind[error.kind];
}

/** Fixed texts for framework errors (their own messages may quote the request body); the framework's status stays. */
export const frameworkAnswers: Readonly<Record<number, [code: ErrorCode, message: string]>> = {
  400: ['BAD_REQUEST', 'the request is malformed (body or parameters)'],
  404: ['NOT_FOUND', 'no such route'],
  405: ['METHOD_NOT_ALLOWED', 'method not allowed'],
  406: ['NOT_ACCEPTABLE', 'not acceptable'],
  413: ['BODY_TOO_LARGE', 'the request body is too large'],
  415: ['UNSUPPORTED_MEDIA_TYPE', 'send application/json (or a form for /login)'],
  429: ['TOO_MANY_REQUESTS', 'too many requests; try again later'],
};

/**
 * Translate any thrown value into a status and `{ error: { code, message } }`, once, at the edge.
 * Messages of our own errors are scrubbed by the redactor; framework messages are replaced by fixed
 * texts; anything unknown becomes `INTERNAL` without detail (the log has it).
 */
export function toErrorResponse(error: unknown, redactor: Redactor): { status: number; body: ErrorBody } {
  if (error instanceof SyncError) {
    return {
      status: httpStatusOf(error),
      body: { error: { code: error.code, message: redactor.scrub(error.message) } },
    };
  }
  const statusCode = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    const [code, message] = frameworkAnswers[statusCode] ?? [
      `HTTP_${statusCode}` as const,
      'request refused',
    ];
    return { status: statusCode, body: { error: { code, message } } };
  }
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: 'internal error; the server log has the details' } },
  };
}

/** 404 for an area whose provider is not wired (opt-outs, privacy). */
export function notConfigured(area: string): SyncError {
  return new SyncError('NOT_CONFIGURED', `${area} is not configured in this deployment`);
}

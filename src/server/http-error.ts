import { ConfigError, RecordRejectedError, StoreError, SyncError } from '../core/errors.js';
import type { Redactor } from '../logging/redactor.js';

/** A failure with a known HTTP status and a stable code, thrown by route handlers. */
export class HttpError extends SyncError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(code, message, { retryable: status >= 500 });
    this.name = 'HttpError';
  }
}

/** The one error body of the API. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** Fixed texts for framework errors: their own messages may quote the request body. */
const frameworkMessages: Readonly<Record<number, [code: string, message: string]>> = {
  400: ['BAD_REQUEST', 'the request is malformed (body or parameters)'],
  404: ['NOT_FOUND', 'no such route'],
  405: ['METHOD_NOT_ALLOWED', 'method not allowed'],
  406: ['NOT_ACCEPTABLE', 'not acceptable'],
  413: ['BODY_TOO_LARGE', 'the request body is too large'],
  415: ['UNSUPPORTED_MEDIA_TYPE', 'send application/json (or a form for /login)'],
  429: ['TOO_MANY_REQUESTS', 'too many requests; try again later'],
};

function statusOfSyncError(error: SyncError): number {
  if (error instanceof StoreError) return /^STORE_INVALID/.test(error.code) ? 400 : 503;
  if (error instanceof ConfigError) return 400;
  if (error instanceof RecordRejectedError) return 422;
  if (/_NOT_FOUND$/.test(error.code)) return 404;
  if (/_(CONFLICT|EXISTS|BUSY)$/.test(error.code)) return 409;
  if (/_INVALID$/.test(error.code)) return 400;
  return error.retryable ? 503 : 500;
}

/**
 * Translate any thrown value into a status and `{ error: { code, message } }`, once, at the edge.
 * Messages of our own errors are scrubbed by the redactor; framework messages are replaced by fixed
 * texts; anything unknown becomes `INTERNAL` without detail (the log has it).
 */
export function toErrorResponse(error: unknown, redactor: Redactor): { status: number; body: ErrorBody } {
  if (error instanceof HttpError)
    return {
      status: error.status,
      body: { error: { code: error.code, message: redactor.scrub(error.message) } },
    };
  if (error instanceof SyncError) {
    const status = statusOfSyncError(error);
    return { status, body: { error: { code: error.code, message: redactor.scrub(error.message) } } };
  }
  const statusCode = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    const [code, message] = frameworkMessages[statusCode] ?? [`HTTP_${statusCode}`, 'request refused'];
    return { status: statusCode, body: { error: { code, message } } };
  }
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: 'internal error; the server log has the details' } },
  };
}

/** 404 for an area whose provider is not wired (opt-outs, privacy). */
export function notConfigured(area: string): HttpError {
  return new HttpError(404, 'NOT_CONFIGURED', `${area} is not configured in this deployment`);
}

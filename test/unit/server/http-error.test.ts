import { describe, expect, it } from 'vitest';
import { errorKinds, type ErrorKind } from '../../../src/core/error-kind.js';
import {
  ConfigError,
  ConnectorError,
  RateLimitedError,
  StoreError,
  SyncError,
} from '../../../src/core/errors.js';
import { Redactor } from '../../../src/logging/redactor.js';
import { httpStatusByKind, httpStatusOf, toErrorResponse } from '../../../src/server/http-error.js';

const redactor = new Redactor();
const statusOf = (error: unknown) => toErrorResponse(error, redactor).status;

describe('HTTP status from the kind', () => {
  it.each<[ErrorKind, number]>([
    ['not-found', 404],
    ['conflict', 409],
    ['invalid', 400],
    ['unauthenticated', 401],
    ['forbidden', 403],
    ['throttled', 429],
    ['unavailable', 503],
    ['internal', 500],
  ])('answers %s with %i', (kind, status) => {
    expect(httpStatusByKind[kind]).toBe(status);
    expect(httpStatusOf({ area: 'engine', kind, retryable: false })).toBe(status);
  });

  it('has a status for every kind', () => {
    expect(Object.keys(httpStatusByKind).sort()).toEqual([...errorKinds].sort());
  });

  it.each<[SyncError, number]>([
    [new SyncError('FLOW_NOT_FOUND', 'no such flow'), 404],
    [new SyncError('UNAUTHORIZED', 'admin token required'), 401],
    [new SyncError('CSRF_ORIGIN', 'cross-origin'), 403],
    [new SyncError('LOGIN_RATE_LIMITED', 'wait'), 429],
    [new SyncError('BAD_REQUEST', 'body.x: required'), 400],
    [new StoreError('STORE_INVALID_CURSOR', 'not ours'), 400],
    [new StoreError('STORE_UNAVAILABLE', 'down'), 503],
    [new StoreError('STORE_CONFLICT', 'serialization failure'), 409],
    [new StoreError('STORE_NOT_MIGRATED', 'no table'), 503],
    [new StoreError('STORE_QUERY_FAILED', 'constraint'), 500],
    [new ConfigError('bad'), 400],
    [new SyncError('PRIVACY_INVALID_CONTACT', 'not a GUID'), 400],
  ])('answers %s', (error, status) => {
    expect(toErrorResponse(error, redactor)).toEqual({
      status,
      body: { error: { code: error.code, message: error.message } },
    });
  });

  it('answers a remote system’s failure 503 when a later attempt can succeed, 502 otherwise', () => {
    expect(statusOf(new ConnectorError('campaign', 'CAMPAIGN_HTTP_503', 'busy', { status: 503 }))).toBe(503);
    expect(statusOf(new RateLimitedError('dynamics', 'slow down', { code: 'DYNAMICS_RATE_LIMITED' }))).toBe(
      503,
    );
    expect(statusOf(new ConnectorError('campaign', 'CAMPAIGN_NOT_FOUND', 'gone', { status: 404 }))).toBe(502);
    expect(statusOf(new ConnectorError('dynamics', 'DYNAMICS_UNAUTHORIZED', 'token', { status: 401 }))).toBe(
      502,
    );
    expect(statusOf(new ConnectorError('sftp', 'SFTP_FAILURE', 'disk full'))).toBe(502);
  });

  it('keeps the status of framework errors with a fixed text, and hides anything unknown', () => {
    const tooLarge = Object.assign(new Error('body of 70000 bytes: {"email":"x@y.z"}'), { statusCode: 413 });
    expect(toErrorResponse(tooLarge, redactor)).toEqual({
      status: 413,
      body: { error: { code: 'BODY_TOO_LARGE', message: 'the request body is too large' } },
    });
    const teapot = Object.assign(new Error('x'), { statusCode: 418 });
    expect(toErrorResponse(teapot, redactor).body.error.code).toBe('HTTP_418');
    expect(toErrorResponse(new TypeError('x is undefined'), redactor)).toEqual({
      status: 500,
      body: { error: { code: 'INTERNAL', message: 'internal error; the server log has the details' } },
    });
  });
});

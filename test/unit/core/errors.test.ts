import { describe, expect, it } from 'vitest';
import { describeErrorCode, type ErrorCode } from '../../../src/core/error-catalogue.js';
import {
  ConfigError,
  ConnectorError,
  RateLimitedError,
  RecordRejectedError,
  StoreError,
  SyncError,
  errorCode,
  isRetryable,
} from '../../../src/core/errors.js';

describe('SyncError hierarchy', () => {
  it('keeps code and cause, and takes kind, area and retryable from the code', () => {
    const cause = new Error('socket hang up');
    const error = new ConnectorError('campaign', 'CAMPAIGN_HTTP_503', 'Campaign answered 503', {
      status: 503,
      cause,
    });
    expect(error).toBeInstanceOf(SyncError);
    expect(error).toMatchObject({
      code: 'CAMPAIGN_HTTP_503',
      kind: 'unavailable',
      area: 'campaign',
      status: 503,
      retryable: true,
    });
    expect(error.cause).toBe(cause);
    expect(isRetryable(error)).toBe(true);
  });

  it('treats rate limiting as retryable with the server delay', () => {
    const error = new RateLimitedError('dynamics', 'slow down', {
      code: 'DYNAMICS_RATE_LIMITED',
      retryAfterMs: 2000,
    });
    expect(error).toMatchObject({ kind: 'throttled', retryable: true, retryAfterMs: 2000, status: 429 });
  });

  it('treats rejected records as final', () => {
    const error = new RecordRejectedError('c-1', 'MAPPING_INVALID', 'bad enum');
    expect(error.kind).toBe('invalid');
    expect(isRetryable(error)).toBe(false);
    expect(errorCode(error)).toBe('MAPPING_INVALID');
    expect(errorCode(new Error('x'))).toBe('UNEXPECTED');
    expect(isRetryable(new Error('x'))).toBe(true);
  });

  it('defaults configuration errors to CONFIG_INVALID, area config', () => {
    expect(new ConfigError('bad')).toMatchObject({ code: 'CONFIG_INVALID', kind: 'invalid', area: 'config' });
  });

  it('lets a code override its kind’s retryability only where the catalogue says so', () => {
    expect(new StoreError('STORE_CONFLICT', 'serialization failure')).toMatchObject({
      kind: 'conflict',
      retryable: true,
    });
    expect(new StoreError('STORE_NOT_MIGRATED', 'no table')).toMatchObject({
      kind: 'unavailable',
      retryable: false,
    });
    expect(new StoreError('STORE_UNAVAILABLE', 'down')).toMatchObject({
      kind: 'unavailable',
      retryable: true,
    });
  });

  it('gives each Dynamics status code the kind of its status', () => {
    for (const status of [500, 502, 503, 504])
      expect(describeErrorCode(`DYNAMICS_HTTP_${status}`)).toMatchObject({
        kind: 'unavailable',
        retryable: true,
      });
    for (const status of [405, 409, 501])
      expect(describeErrorCode(`DYNAMICS_HTTP_${status}`)).toMatchObject({
        kind: 'invalid',
        retryable: false,
      });
  });

  it('treats a code missing from the catalogue (a cast, old durable data) as internal, not retried', () => {
    const error = new SyncError('NOT_A_CODE' as ErrorCode, 'x');
    expect(error).toMatchObject({ kind: 'internal', area: 'core', retryable: false });
    expect(describeErrorCode('NOT_A_CODE')).toBeUndefined();
  });

  it('refuses an uncatalogued code at compile time', () => {
    // @ts-expect-error -- a typo in a code is a type error
    expect(new SyncError('CAMPAIGN_NOT_FUOND', 'x').kind).toBe('internal');
    // @ts-expect-error -- a ConnectorError carries a remote system's code only
    expect(new ConnectorError('campaign', 'STORE_BUSY', 'x').code).toBe('STORE_BUSY');
    // @ts-expect-error -- a RateLimitedError carries a throttled code only
    expect(new RateLimitedError('campaign', 'x', { code: 'CAMPAIGN_NOT_FOUND' }).kind).toBe('not-found');
  });
});

import { describe, expect, it } from 'vitest';
import {
  ConnectorError,
  RateLimitedError,
  RecordRejectedError,
  SyncError,
  errorCode,
  isRetryable,
} from '../../../src/core/errors.js';

describe('SyncError hierarchy', () => {
  it('keeps code, retryable flag and cause', () => {
    const cause = new Error('socket hang up');
    const error = new ConnectorError('campaign', 'CAMPAIGN_HTTP_503', 'Campaign answered 503', {
      status: 503,
      retryable: true,
      cause,
    });
    expect(error).toBeInstanceOf(SyncError);
    expect(error.code).toBe('CAMPAIGN_HTTP_503');
    expect(error.status).toBe(503);
    expect(error.cause).toBe(cause);
    expect(isRetryable(error)).toBe(true);
  });

  it('treats rate limiting as retryable with the server delay', () => {
    const error = new RateLimitedError('dynamics', 'slow down', { retryAfterMs: 2000 });
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(2000);
    expect(error.status).toBe(429);
  });

  it('treats rejected records as final', () => {
    const error = new RecordRejectedError('c-1', 'CAMPAIGN_INVALID_VALUE', 'bad enum');
    expect(isRetryable(error)).toBe(false);
    expect(errorCode(error)).toBe('CAMPAIGN_INVALID_VALUE');
    expect(errorCode(new Error('x'))).toBe('UNEXPECTED');
  });
});

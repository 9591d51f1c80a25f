import { describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../../src/core/errors.js';
import {
  DeltaTokenExpiredError,
  toDynamicsError,
  toTransportError,
} from '../../../src/connectors/dynamics/dynamics-errors.js';

const request = { method: 'GET', resource: 'contacts', table: 'contacts' };
const body = (code: string, message = 'm') => ({ error: { code, message } });

describe('toDynamicsError', () => {
  it.each([
    [400, body('0x80044352'), 'DYNAMICS_DELTA_EXPIRED', false],
    [400, body('0x80072491'), 'DYNAMICS_CHANGE_TRACKING_DISABLED', false],
    [400, body('0x80044331'), 'DYNAMICS_BAD_REQUEST', false],
    [401, body('0x8004A102'), 'DYNAMICS_UNAUTHORIZED', false],
    [403, body('0x80040220'), 'DYNAMICS_FORBIDDEN', false],
    [404, body('0x80040217'), 'DYNAMICS_NOT_FOUND', false],
    [412, body('0x80060882'), 'DYNAMICS_PRECONDITION_FAILED', false],
    [412, body(''), 'DYNAMICS_ALREADY_EXISTS', false],
    [412, body('0x80040237'), 'DYNAMICS_ALREADY_EXISTS', false],
    [429, body('0x80072322'), 'DYNAMICS_RATE_LIMITED', true],
    [500, undefined, 'DYNAMICS_HTTP_500', true],
    [501, undefined, 'DYNAMICS_HTTP_501', false],
    [503, 'Service Unavailable', 'DYNAMICS_HTTP_503', true],
  ])('HTTP %i %j → %s (retryable %s)', (status, payload, code, retryable) => {
    const error = toDynamicsError(status, payload, request, 2000);
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.target).toBe('dynamics');
    expect(error.message).not.toContain('?');
  });

  it('types expired delta tokens and 429s', () => {
    expect(toDynamicsError(400, body('0x80044352'), request, undefined)).toBeInstanceOf(
      DeltaTokenExpiredError,
    );
    const limited = toDynamicsError(429, body('0x80072322'), request, 3000);
    expect(limited).toBeInstanceOf(RateLimitedError);
    expect((limited as RateLimitedError).retryAfterMs).toBe(3000);
  });

  it('classifies timeouts and dropped connections as retryable, certificate failures as not', () => {
    const timeout = Object.assign(new Error('t'), { name: 'TimeoutError' });
    expect(toTransportError(timeout, request, 100)).toMatchObject({
      code: 'DYNAMICS_TIMEOUT',
      retryable: true,
    });
    const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    expect(toTransportError(reset, request, 100)).toMatchObject({
      code: 'DYNAMICS_NETWORK',
      retryable: true,
    });
    const cert = Object.assign(new Error('self-signed'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    expect(toTransportError(cert, request, 100)).toMatchObject({ code: 'DYNAMICS_TLS', retryable: false });
  });
});

import { describe, expect, it } from 'vitest';
import { toStoreError } from '../../../src/store/postgres/postgres-driver.js';

describe('toStoreError (PostgreSQL)', () => {
  it.each([
    ['Connection terminated unexpectedly', undefined],
    ['Client has encountered a connection error and is not queryable', undefined],
    ['Client was closed and is not queryable', undefined],
    ['terminating connection due to administrator command', '57P01'],
    ['connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'],
  ])('classes a lost connection as unavailable and retryable: %s', (message, code) => {
    const error = Object.assign(new Error(message), code === undefined ? {} : { code });
    expect(toStoreError(error, 'complete')).toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true });
  });

  it('keeps a failed statement non-retryable, without a value from a class 22 message', () => {
    const error = Object.assign(new Error('invalid input syntax for type bigint: "secret-value"'), {
      code: '22P02',
    });
    const mapped = toStoreError(error, 'enqueue');
    expect(mapped).toMatchObject({ code: 'STORE_QUERY_FAILED', retryable: false });
    expect(mapped.message).not.toContain('secret-value');
  });
});

import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../../src/core/retry-after.js';

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP dates relative to the clock value given', () => {
    expect(parseRetryAfter('2', 0)).toBe(2000);
    expect(parseRetryAfter('0.5', 0)).toBe(500);
    const at = Date.UTC(2026, 0, 1, 12, 0, 10);
    expect(parseRetryAfter(new Date(at).toUTCString(), at - 4000)).toBe(4000);
    expect(parseRetryAfter(['3', '9'], 0)).toBe(3000);
  });

  it('never answers a negative wait, and ignores what it cannot read', () => {
    expect(parseRetryAfter('-1', 0)).toBe(0);
    expect(parseRetryAfter(new Date(1000).toUTCString(), 5000)).toBe(0);
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
    expect(parseRetryAfter(' ', 0)).toBeUndefined();
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { computeRetryDelay, hasAttemptsLeft, resolveRetryPolicy } from '../../../src/core/retry-policy.js';
import { ConfigError } from '../../../src/core/errors.js';

describe('retry policy', () => {
  it('applies defaults', () => {
    expect(resolveRetryPolicy()).toEqual({
      initialDelayMs: 1000,
      maxDelayMs: 60_000,
      multiplier: 2,
      maxAttempts: 10,
      jitter: 'full',
    });
  });

  it('rejects impossible bounds, naming each option', () => {
    expect(() =>
      resolveRetryPolicy({ initialDelayMs: 5000, maxDelayMs: 1000, multiplier: 0.5, maxAttempts: 0 }),
    ).toThrow(ConfigError);
    try {
      resolveRetryPolicy({ initialDelayMs: 5000, maxDelayMs: 1000, multiplier: 0.5, maxAttempts: 0 });
    } catch (e) {
      const message = (e as Error).message;
      expect(message).toContain('engine.retry.maxDelayMs');
      expect(message).toContain('engine.retry.multiplier');
      expect(message).toContain('engine.retry.maxAttempts');
    }
  });

  it('grows exponentially up to the cap without jitter', () => {
    const p = resolveRetryPolicy({ initialDelayMs: 100, maxDelayMs: 1000, jitter: 'none' });
    expect([1, 2, 3, 4, 5, 6].map((a) => computeRetryDelay(p, a))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('lets Retry-After win over the computed delay', () => {
    const p = resolveRetryPolicy({ initialDelayMs: 100, maxDelayMs: 1000, jitter: 'none' });
    expect(computeRetryDelay(p, 1, Math.random, 7000)).toBe(7000);
  });

  it('keeps full jitter within [0, capped delay]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (attempt, r) => {
          const p = resolveRetryPolicy({ initialDelayMs: 50, maxDelayMs: 5000 });
          const d = computeRetryDelay(p, attempt, () => r);
          return d >= 0 && d <= 5000;
        },
      ),
    );
  });

  it('counts attempts', () => {
    const p = resolveRetryPolicy({ maxAttempts: 3 });
    expect(hasAttemptsLeft(p, 2)).toBe(true);
    expect(hasAttemptsLeft(p, 3)).toBe(false);
  });
});

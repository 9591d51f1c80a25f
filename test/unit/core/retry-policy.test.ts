import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  computeRetryDelay,
  hasAttemptsLeft,
  planRetry,
  resolveRetryPolicy,
} from '../../../src/core/retry-policy.js';
import { ConfigError } from '../../../src/core/errors.js';

describe('retry policy', () => {
  it('applies defaults', () => {
    expect(resolveRetryPolicy()).toEqual({
      initialDelayMs: 1000,
      maxDelayMs: 60_000,
      multiplier: 2,
      maxAttempts: 10,
      jitter: 'full',
      maxThrottledMs: 86_400_000,
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

  describe('planRetry', () => {
    const p = resolveRetryPolicy({
      initialDelayMs: 100,
      maxDelayMs: 10_000,
      maxAttempts: 3,
      maxThrottledMs: 60_000,
    });
    const now = 1_000_000;
    const half = (): number => 0.5;

    it('dead-letters a non-retryable failure at once, throttled or not', () => {
      for (const throttled of [false, true]) {
        expect(planRetry(p, { attempts: 1, retryable: false, throttled, firstFailedAt: null, now })).toEqual({
          retry: false,
          reason: 'non-retryable',
        });
      }
    });

    it('counts ordinary failures until the attempts run out', () => {
      const failed = { retryable: true, throttled: false, firstFailedAt: now - 500, now };
      expect(planRetry(p, { ...failed, attempts: 2 }, half)).toEqual({
        retry: true,
        retryAt: now + 100,
        countsAttempt: true,
      });
      expect(planRetry(p, { ...failed, attempts: 3 }, half)).toEqual({
        retry: false,
        reason: 'attempts-exhausted',
      });
    });

    it('never dead-letters for throttling on attempts, and gives the attempt back', () => {
      const decision = planRetry(p, {
        attempts: 50,
        retryable: true,
        throttled: true,
        firstFailedAt: now - 1000,
        now,
      });
      expect(decision).toMatchObject({ retry: true, countsAttempt: false });
    });

    it('backs a throttled item off by half to all of the time it has been failing, within the bounds', () => {
      const at = (failingForMs: number | null, r: number): number => {
        const d = planRetry(
          p,
          {
            attempts: 1,
            retryable: true,
            throttled: true,
            firstFailedAt: failingForMs === null ? null : now - failingForMs,
            now,
          },
          () => r,
        );
        if (!d.retry) throw new Error('expected a retry');
        return d.retryAt - now;
      };
      expect([at(null, 0), at(null, 1)]).toEqual([50, 100]);
      expect([at(4000, 0), at(4000, 1)]).toEqual([2000, 4000]);
      expect([at(50_000, 0), at(50_000, 1)]).toEqual([5000, 10_000]);
    });

    it("waits a throttled item out by the server's Retry-After", () => {
      const d = planRetry(p, {
        attempts: 1,
        retryable: true,
        throttled: true,
        retryAfterMs: 30_000,
        firstFailedAt: now - 20_000,
        now,
      });
      expect(d).toEqual({ retry: true, retryAt: now + 30_000, countsAttempt: false });
    });

    it('dead-letters an item throttled for longer than maxThrottledMs', () => {
      const failed = { attempts: 1, retryable: true, throttled: true, now };
      expect(planRetry(p, { ...failed, firstFailedAt: now - 59_999 })).toMatchObject({ retry: true });
      expect(planRetry(p, { ...failed, firstFailedAt: now - 60_000 })).toEqual({
        retry: false,
        reason: 'throttled-too-long',
      });
    });

    it('retries at a whole millisecond, never earlier than the jittered delay (the store keeps integers)', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 5 }),
          fc.boolean(),
          fc.option(fc.integer({ min: 0, max: 50_000 })),
          fc.double({ min: 0, max: 0.999999, noNaN: true }),
          (attempts, throttled, failingFor, r) => {
            const d = planRetry(
              p,
              {
                attempts,
                retryable: true,
                throttled,
                firstFailedAt: failingFor === null ? null : now - failingFor,
                now,
              },
              () => r,
            );
            return !d.retry || (Number.isSafeInteger(d.retryAt) && d.retryAt >= now);
          },
        ),
      );
      const jittered = planRetry(
        p,
        { attempts: 1, retryable: true, throttled: false, firstFailedAt: null, now },
        () => 0.123,
      );
      expect(jittered).toEqual({ retry: true, retryAt: now + 13, countsAttempt: true });
    });

    it('rejects a maxThrottledMs that is not positive', () => {
      expect(() => resolveRetryPolicy({ maxThrottledMs: 0 })).toThrow(
        /engine\.retry\.maxThrottledMs must be > 0/,
      );
    });
  });
});

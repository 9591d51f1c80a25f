import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { RateLimitedError } from '../../../src/core/errors.js';
import {
  ExecutionTimeWindow,
  RequestPacer,
  SlidingWindowCounter,
} from '../../../src/connectors/dynamics/request-pacer.js';

describe('SlidingWindowCounter', () => {
  it('allows `limit` requests per window and says when the next one fits', () => {
    const counter = new SlidingWindowCounter(3, 1000);
    counter.record(0);
    counter.record(100);
    counter.record(200);
    expect(counter.delayMs(300)).toBe(701);
    expect(counter.delayMs(999)).toBe(2);
    expect(counter.delayMs(1000)).toBe(0);
    expect(counter.used(1150)).toBe(1);
  });

  it('keeps memory bounded for long windows by bucketing, without undercounting', () => {
    const day = 86_400_000;
    const counter = new SlidingWindowCounter(500_000, day);
    for (let i = 0; i < 100_000; i++) counter.record(i * 10);
    expect(counter.used(1_000_000)).toBe(100_000);
    expect(counter.delayMs(1_000_000)).toBe(0);
    expect(counter.used(day + 999_990)).toBe(0);
  });
});

describe('ExecutionTimeWindow', () => {
  it('learns the average cost of a request from the remaining execution time and holds requests once the window is full', () => {
    // 1,000 ms of execution time per 10 s window.
    const window = new ExecutionTimeWindow(1000, 10_000);
    expect(window.delayMs(0)).toBe(0);
    for (let i = 0; i < 4; i++) {
      // Each answer: 100 ms used per request answered so far (this one included).
      window.observe(i * 100, 1000 - 100 * (i + 1));
      window.record(i * 100);
    }
    expect(window.averageRequestMs).toBe(100);
    // 10 requests of 100 ms fit: 4 answered, 5 in flight: one more fits, then none.
    expect(window.delayMs(400, 5)).toBe(0);
    expect(window.delayMs(400, 6)).toBe(10_000 - 400 + 1);
    // Bigger requests (a larger $batch): fewer fit.
    window.observe(500, 1000 - 5 * 200);
    window.record(500);
    expect(window.averageRequestMs).toBe(200);
    expect(window.delayMs(600)).toBe(10_000 - 600 + 1);
    // The oldest answer leaves the window: one fits again.
    expect(window.delayMs(10_001)).toBe(0);
  });

  it('does not pace before it has seen a few answers, nor on an unreadable header', () => {
    const window = new ExecutionTimeWindow(1000, 10_000);
    window.observe(0, 0);
    window.record(0);
    window.observe(1, Number.NaN);
    expect(window.averageRequestMs).toBe(0);
    expect(window.delayMs(2, 100)).toBe(0);
  });
});

describe('RequestPacer', () => {
  it('counts a request when it finishes and keeps its slot while it is in flight', async () => {
    const clock = new ManualClock(0);
    const window = new SlidingWindowCounter(2, 1000);
    const pacer = new RequestPacer({ windows: [window], clock, maxWaitMs: 5 });
    const first = await pacer.acquire();
    const second = await pacer.acquire();
    await expect(pacer.acquire()).rejects.toBeInstanceOf(RateLimitedError);
    clock.advance(300);
    first();
    second();
    expect(window.used(300)).toBe(2);
    expect(window.delayMs(1200)).toBe(101);
    clock.advance(1000);
    await expect(pacer.acquire()).resolves.toBeTypeOf('function');
  });

  it('fails fast with a RateLimitedError when the budget frees up later than maxWaitMs', async () => {
    const clock = new ManualClock(0);
    const pacer = new RequestPacer({
      windows: [new SlidingWindowCounter(2, 86_400_000)],
      clock,
      maxWaitMs: 1000,
    });
    (await pacer.acquire())();
    (await pacer.acquire())();
    const error = await pacer.acquire().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).code).toBe('DYNAMICS_BUDGET_EXHAUSTED');
    expect((error as RateLimitedError).retryAfterMs).toBe(86_400_001);
  });

  it('waits for a slot on its clock: a request leaves only once the clock has moved on', async () => {
    const clock = new ManualClock(0);
    const pacer = new RequestPacer({
      windows: [new SlidingWindowCounter(1, 1000)],
      clock,
      maxWaitMs: 60_000,
    });
    (await pacer.acquire())();
    pacer.pauseUntil(2500);
    let acquired = false;
    const waiting = pacer.acquire().then((finished) => {
      acquired = true;
      return finished;
    });
    await Promise.resolve();
    expect(clock.sleeping).toBe(1);
    // Waits in steps of at most a second, re-checking the windows and the pause after each.
    clock.advance(1000);
    await vi.waitFor(() => expect(clock.sleeping).toBe(1));
    clock.advance(1499);
    await vi.waitFor(() => expect(clock.sleeping).toBe(1));
    expect(acquired).toBe(false);
    clock.advance(1);
    expect(await waiting).toBeTypeOf('function');
  });

  it('holds requests back while a Retry-After is pending', async () => {
    const clock = new ManualClock(0);
    const pacer = new RequestPacer({ windows: [], clock, maxWaitMs: 500 });
    pacer.pauseUntil(5000);
    await expect(pacer.acquire()).rejects.toBeInstanceOf(RateLimitedError);
    clock.advance(5000);
    await expect(pacer.acquire()).resolves.toBeTypeOf('function');
  });
});

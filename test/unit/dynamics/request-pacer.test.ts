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
  /** One answer as the client sees it: recorded when it arrives, then its header read. */
  function answer(window: ExecutionTimeWindow, at: number, remainingMs: number): void {
    window.record(at);
    window.observe(at, remainingMs);
  }

  it('learns the cost of a request from successive remaining values and holds requests once the window is full', () => {
    // 1,000 ms of execution time per 10 s window; each request costs 100 ms.
    const window = new ExecutionTimeWindow(1000, 10_000);
    expect(window.delayMs(0)).toBe(0);
    for (let i = 0; i < 4; i++) answer(window, i * 100, 1000 - 100 * (i + 1));
    expect(window.averageRequestMs).toBe(100);
    // 600 ms left: 6 more fit (5 in flight: one more), then none.
    expect(window.delayMs(400, 5)).toBe(0);
    // With 6 in flight none fits until the first learnt answer (at 100) leaves the window.
    expect(window.delayMs(400, 6)).toBe(100 + 10_000 - 400 + 1);
    // Bigger requests (a larger $batch): 500 ms charged by one answer; 100 ms left, 200 needed.
    answer(window, 500, 600 - 500);
    expect(window.averageRequestMs).toBe((3 * 100 + 500) / 4);
    expect(window.delayMs(600)).toBe(100 + 10_000 - 600 + 1);
    // The first learnt answer leaves the window: its 100 ms are free again, and the average (of the
    // answers left in it) rises to 233 ms: the next one has to leave too.
    expect(window.delayMs(10_101)).toBe(200 + 10_000 - 10_101 + 1);
    expect(window.delayMs(10_201)).toBe(0);
  });

  it('keeps learning when the window is full and what leaves it balances what comes in', () => {
    // 300 ms per 1 s window; a request every 100 ms costs 100 ms; the server's window slides.
    const window = new ExecutionTimeWindow(300, 1000);
    const charged: number[] = [];
    for (let i = 0; i < 30; i++) {
      const at = i * 100;
      // The server: what the answers before this one were charged within its window.
      const used = charged.filter((t) => t > at - 1000).length * 100;
      answer(window, at, Math.max(0, 300 - used));
      charged.push(at);
      if (used >= 300) break;
    }
    expect(window.averageRequestMs).toBeCloseTo(100, 0);
  });

  it('paces by what the server says is left when the tenant’s real limit is lower than configured', async () => {
    // Configured: 20 minutes per 5 minutes; this tenant's server allows 600 s, of which 5 answers
    // of 10 ms each have used 50 ms. The old window took `configured − remaining` (600,050 ms) as
    // used by those 5 answers, learnt a cost of ~100 s per request, and held the next requests
    // for the rest of the window; 60,000 more requests of 10 ms fit.
    const clock = new ManualClock(0);
    const window = new ExecutionTimeWindow(1_200_000, 300_000);
    const pacer = new RequestPacer({ windows: [window], clock, maxWaitMs: 1000 });
    for (let i = 0; i < 5; i++) {
      const finished = await pacer.acquire();
      clock.advance(10);
      finished();
      window.observe(clock.now(), 600_000 - 10 * i);
    }
    expect(window.averageRequestMs).toBe(10);
    const slots = await Promise.all(Array.from({ length: 50 }, () => pacer.acquire()));
    expect(slots).toHaveLength(50);
    expect(window.pressure(clock.now())).toBeLessThan(0.51);
  });

  it('holds requests when the server says the window is used up, and lets them go as it slides', () => {
    const window = new ExecutionTimeWindow(1_200_000, 300_000);
    // A real limit of 1,000 ms: 10 answers of 100 ms use it up (the first one is the baseline).
    for (let i = 0; i <= 10; i++) answer(window, i * 10, 1000 - 100 * i);
    expect(window.averageRequestMs).toBe(100);
    expect(window.pressure(100)).toBe(1);
    // The first learnt answer (at 10) has to leave the window first.
    expect(window.delayMs(100)).toBe(10 + 300_000 - 100 + 1);
    expect(window.delayMs(300_009)).toBe(2);
    expect(window.delayMs(300_010)).toBe(0);
  });

  it('does not pace before it has seen a few answers, nor on an unreadable header', () => {
    const window = new ExecutionTimeWindow(1000, 10_000);
    answer(window, 0, 0);
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

import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { RateLimitedError } from '../../../src/core/errors.js';
import {
  ExecutionTimeWindow,
  RequestPacer,
  SlidingWindowCounter,
  type PacedAnswer,
} from '../../../src/connectors/dynamics/request-pacer.js';
import { DynamicsWebApiClient } from '../../../src/connectors/dynamics/dynamics-web-api-client.js';
import { resolveDynamicsClientOptions } from '../../../src/connectors/dynamics/dynamics-client-options.js';

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

/**
 * The execution-time window of a Dataverse server as the emulator keeps it: a request is admitted
 * while the window is not full (however much it will cost), its answer's header says the time left,
 * and the request is charged when it has finished — after that header.
 */
class FakeExecutionServer {
  private readonly charges: { at: number; ms: number }[] = [];

  constructor(
    readonly limitMs: number,
    readonly windowMs: number,
  ) {}

  used(now: number): number {
    return this.charges.filter((c) => c.at > now - this.windowMs).reduce((sum, c) => sum + c.ms, 0);
  }

  /** Charged between `from` (inclusive) and `to` (exclusive). */
  chargedBetween(from: number, to: number): number {
    return this.charges.filter((c) => c.at >= from && c.at < to).reduce((sum, c) => sum + c.ms, 0);
  }

  admits(now: number): boolean {
    return this.used(now) < this.limitMs;
  }

  /** Answer a request that cost `costMs`: the remaining time in its header, then the charge. */
  answer(now: number, costMs: number): number {
    const remaining = Math.max(0, this.limitMs - this.used(now));
    this.charges.push({ at: now, ms: costMs });
    return remaining;
  }
}

describe('ExecutionTimeWindow', () => {
  it('learns the cost of an operation from successive remaining values and holds a request by its size', () => {
    // 1,000 ms of execution time per 10 s window; each operation costs 100 ms; no margin.
    const server = new FakeExecutionServer(1000, 10_000);
    const window = new ExecutionTimeWindow(1000, 10_000, 0);
    expect(window.delayMs(0)).toBe(0);
    for (let i = 0; i < 4; i++) window.record(i * 100, 1, server.answer(i * 100, 100));
    // The last answer's own cost is not in any header yet: three answers are learnt.
    expect(window.operationMs).toBe(100);
    // 700 ms left by the last header, of which the last answer takes 100: 6 operations fit.
    expect(window.delayMs(400, { requests: 1, operations: 1 }, 5)).toBe(0);
    expect(window.delayMs(400, { requests: 5, operations: 5 }, 1)).toBe(0);
    // One more operation than that waits until the first learnt answer (at 0) leaves the window.
    expect(window.delayMs(400, { requests: 1, operations: 1 }, 6)).toBe(0 + 10_000 - 400 + 1);
    // A batch of 4 operations costs 400 ms; the header of the answer after it says so.
    window.record(500, 4, server.answer(500, 400));
    window.record(600, 1, server.answer(600, 100));
    expect(window.operationMs).toBe(100);
    // 200 ms left, minus the unlearnt last answer: 1 operation fits, 2 wait for the answer at 0.
    expect(window.delayMs(700, undefined, 1)).toBe(0);
    expect(window.delayMs(700, undefined, 2)).toBe(0 + 10_000 - 700 + 1);
  });

  it('keeps a margin of the limit free', () => {
    const server = new FakeExecutionServer(1000, 10_000);
    const window = new ExecutionTimeWindow(1000, 10_000, 0.1);
    for (let i = 0; i < 4; i++) window.record(i * 100, 1, server.answer(i * 100, 100));
    // 600 ms free after the unlearnt answer, 100 of them kept: 5 operations fit, not 6.
    expect(window.delayMs(400, undefined, 5)).toBe(0);
    expect(window.delayMs(400, undefined, 6)).toBeGreaterThan(0);
  });

  it('keeps learning when the window is full and what leaves it balances what comes in', () => {
    // 300 ms per 1 s window; a request every 100 ms costs 100 ms; the server's window slides.
    const server = new FakeExecutionServer(300, 1000);
    const window = new ExecutionTimeWindow(300, 1000, 0);
    for (let i = 0; i < 30; i++) {
      const at = i * 100;
      if (!server.admits(at)) continue;
      window.record(at, 1, server.answer(at, 100));
    }
    expect(window.operationMs).toBeCloseTo(100, 0);
  });

  it('stays under the limit with ≤ 1 % refused while using ≥ 90 % of it, whatever the batch sizes', async () => {
    // The scaled-down benchmark: 120 s of execution time per 30 s window, 20 ms per write, six
    // batches in flight, each answered 200 ms after it left; small batches while the window fills,
    // then batches of 1 to 200 writes. Paced by the average request (pulled down by the small
    // ones), a batch larger than the average overshot the limit (to 124.7 s: the server admits
    // while its window is not full), the headers could not show by how much (never below 0), and
    // the requests after it were refused (4 of 411).
    const limitMs = 120_000;
    const windowMs = 30_000;
    const clock = new ManualClock(0);
    const server = new FakeExecutionServer(limitMs, windowMs);
    const window = new ExecutionTimeWindow(limitMs, windowMs + 150);
    const pacer = new RequestPacer({ windows: [window], clock, maxWaitMs: 0 });
    // An adaptive $batch: small batches while the window fills, then large ones of varied sizes.
    const sizes = [200, 5, 120, 200, 40, 10, 120, 80, 1];
    const sizeOf = (n: number): number => (n < 60 ? 10 : (sizes[n % sizes.length] as number));
    const inFlight: { until: number; operations: number; finished: (answer?: PacedAnswer) => void }[] = [];
    let sent = 0;
    let refused = 0;
    let peak = 0;
    for (let now = 0; now < 5 * windowMs; now += 10) {
      clock.set(now);
      for (const request of inFlight.filter((r) => r.until <= now)) {
        inFlight.splice(inFlight.indexOf(request), 1);
        request.finished({ remainingMs: server.answer(now, request.operations * 20) });
        peak = Math.max(peak, server.used(now));
      }
      while (inFlight.length < 6) {
        const operations = sizeOf(sent);
        const finished = await pacer.acquire(operations).catch(() => null);
        if (finished === null) break;
        sent++;
        if (!server.admits(now)) {
          refused++;
          pacer.pauseUntil(now + 1000);
          finished({ refused: true });
          break;
        }
        inFlight.push({ until: now + 200, operations, finished });
      }
    }
    expect(sent).toBeGreaterThan(300);
    expect(refused / sent).toBeLessThanOrEqual(0.01);
    expect(peak).toBeLessThanOrEqual(limitMs);
    // After the first window (learning), every window is used to ≥ 90 %.
    for (let from = windowMs; from < 5 * windowMs; from += windowMs)
      expect(server.chargedBetween(from, from + windowMs) / limitMs).toBeGreaterThanOrEqual(0.9);
  });

  it('paces by what the server says is left when the tenant’s real limit is lower than configured', async () => {
    // Configured: 20 minutes per 5 minutes; this tenant's server allows 600 s, of which 5 answers
    // of 10 ms each have used 50 ms. Taking `configured − remaining` (600,050 ms) as used by those
    // 5 answers would learn a cost of ~100 s per request and hold the next requests for the rest
    // of the window; 60,000 more requests of 10 ms fit.
    const clock = new ManualClock(0);
    const server = new FakeExecutionServer(600_000, 300_000);
    const window = new ExecutionTimeWindow(1_200_000, 300_000);
    const pacer = new RequestPacer({ windows: [window], clock, maxWaitMs: 1000 });
    for (let i = 0; i < 5; i++) {
      const finished = await pacer.acquire();
      clock.advance(10);
      finished({ remainingMs: server.answer(clock.now(), 10) });
    }
    expect(window.operationMs).toBe(10);
    const slots = await Promise.all(Array.from({ length: 50 }, () => pacer.acquire()));
    expect(slots).toHaveLength(50);
    expect(window.pressure(clock.now())).toBeLessThan(0.51);
  });

  it('holds requests when the server says the window is used up, and lets them go as it slides', () => {
    const window = new ExecutionTimeWindow(1_200_000, 300_000, 0);
    // A real limit of 1,000 ms: answers of 100 ms use it up (the first header is the baseline,
    // each answer's cost shows in the next header).
    const server = new FakeExecutionServer(1000, 300_000);
    for (let i = 0; i <= 10; i++) window.record(i * 10, 1, server.answer(i * 10, 100));
    expect(window.operationMs).toBe(100);
    expect(window.pressure(100)).toBe(1);
    // The header said 0 left, and the last answer is not charged yet: two learnt answers (at 0
    // and 10) have to leave the window first.
    expect(window.delayMs(100)).toBe(10 + 300_000 - 100 + 1);
    expect(window.delayMs(300_009)).toBe(2);
    expect(window.delayMs(300_010)).toBe(0);
  });

  it('does not pace before it has seen a few answers, nor on an unreadable header', () => {
    const window = new ExecutionTimeWindow(1000, 10_000);
    window.record(0, 1, 0);
    window.record(1, 1, Number.NaN);
    expect(window.operationMs).toBe(0);
    expect(window.delayMs(2, { requests: 100, operations: 100 })).toBe(0);
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

describe('the execution-time margin as a setting', () => {
  const base = { url: 'https://127.0.0.1:1', tenantId: 't', clientId: 'c', clientSecret: 's' };

  it('reaches the client’s window: the configured share of the limit is kept free', async () => {
    const client = new DynamicsWebApiClient({
      ...base,
      executionTimePerWindowMs: 120_000,
      executionTimeMarginShare: 0.05,
    });
    try {
      expect(client.executionTime()).toMatchObject({ limitMs: 120_000, marginMs: 6000 });
    } finally {
      await client.close();
    }
  });

  it('is refused outside 0–0.5, with the setting named', () => {
    expect(() => resolveDynamicsClientOptions({ ...base, executionTimeMarginShare: 0.7 })).toThrow(
      'dynamics.executionTimeMarginShare must be a number from 0 to 0.5',
    );
  });
});

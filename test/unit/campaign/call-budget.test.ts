import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../../src/core/errors.js';
import type { BudgetLane } from '../../../src/core/ports/call-budget.js';
import type { CallKind } from '../../../src/connectors/adobe/adobe-call-gate.js';
import { CallBudget, type CallBudgetOptions } from '../../../src/connectors/campaign/call-budget.js';
import { ManualScheduler } from '../../support/campaign-manual-scheduler.js';

function buildBudget(options: Partial<CallBudgetOptions> = {}, scheduler = new ManualScheduler()) {
  const budget = new CallBudget({ callsPerSecond: 10, clock: scheduler.clock, scheduler, ...options });
  return { budget, scheduler };
}

/** `workers` loops that each acquire, note the grant time, and go again until stopped. */
function startDemand(
  budget: CallBudget,
  scheduler: ManualScheduler,
  workers: number,
  kind: CallKind = 'insert',
  lane: BudgetLane = 'bulk',
) {
  const grants: number[] = [];
  const errors: unknown[] = [];
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        await budget.acquire(kind, { lane });
        if (running) grants.push(scheduler.clock.now());
      } catch (error) {
        errors.push(error);
        return;
      }
    }
  });
  return {
    grants,
    errors,
    stop: async () => {
      running = false;
      budget.close();
      await Promise.allSettled(loops);
    },
  };
}

function maxInAnyWindow(times: readonly number[], windowMs = 1000): number {
  let max = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= windowMs) start++;
    max = Math.max(max, end - start + 1);
  }
  return max;
}

describe('CallBudget pacing', () => {
  it('never starts more calls than the limit in any one-second window, and uses at least 90 % of it', async () => {
    const { budget, scheduler } = buildBudget({ callsPerSecond: 100, burst: 20 });
    const demand = startDemand(budget, scheduler, 16);
    await scheduler.advance(10_000);
    await demand.stop();
    expect(maxInAnyWindow(demand.grants)).toBeLessThanOrEqual(100);
    expect(demand.grants.length).toBeGreaterThanOrEqual(0.9 * 100 * 10);
  });

  it('holds the ceiling for any limit, burst, concurrency and trouble pattern (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(
          fc.record({ at: fc.integer({ min: 0, max: 3000 }), status: fc.constantFrom(200, 429, 500, 503) }),
          { maxLength: 6 },
        ),
        async (limit, burst, workers, outcomes) => {
          const { budget, scheduler } = buildBudget({ callsPerSecond: limit, burst });
          const demand = startDemand(budget, scheduler, workers);
          let elapsed = 0;
          for (const outcome of [...outcomes].sort((a, b) => a.at - b.at)) {
            await scheduler.advance(outcome.at - elapsed);
            elapsed = outcome.at;
            budget.record({ status: outcome.status, latencyMs: 10 });
          }
          await scheduler.advance(3000 - elapsed);
          await demand.stop();
          return maxInAnyWindow(demand.grants) <= limit;
        },
      ),
      { numRuns: 40 },
    );
  });

  it('halves the rate on 429 and 5xx (once per cooldown) and recovers linearly to the limit', async () => {
    const { budget, scheduler } = buildBudget({ callsPerSecond: 100 });
    const changes: { callsPerSecond: number; reason: string | null }[] = [];
    budget.onRateChange(({ callsPerSecond, reason }) => changes.push({ callsPerSecond, reason }));
    expect(budget.usage().currentCallsPerSecond).toBe(100);
    budget.record({ status: 429, latencyMs: 20 });
    expect(budget.usage().currentCallsPerSecond).toBe(50);
    budget.record({ status: 503, latencyMs: 20 });
    expect(budget.usage().currentCallsPerSecond).toBe(50);
    await scheduler.advance(1000);
    budget.record({ status: 500, latencyMs: 20 });
    expect(budget.usage().currentCallsPerSecond).toBe(25);
    expect(budget.usage().lastTrouble?.reason).toBe('HTTP 500');
    await scheduler.advance(5000);
    expect(budget.usage().currentCallsPerSecond).toBe(25);
    await scheduler.advance(5000);
    expect(budget.usage().currentCallsPerSecond).toBeCloseTo(50, 5);
    await scheduler.advance(20_000);
    expect(budget.usage().currentCallsPerSecond).toBe(100);
    expect(budget.usage().rateCuts).toBe(2);
    // Each cut and the return to the ceiling are announced (the engine's budget.changed event).
    expect(changes).toEqual([
      { callsPerSecond: 50, reason: 'HTTP 429' },
      { callsPerSecond: 25, reason: 'HTTP 500' },
      { callsPerSecond: 100, reason: null },
    ]);
  });

  it('slows the calls it grants after trouble and speeds up again', async () => {
    const { budget, scheduler } = buildBudget({ callsPerSecond: 100, burst: 1 });
    const demand = startDemand(budget, scheduler, 8);
    await scheduler.advance(1000);
    const calm = demand.grants.length;
    budget.record({ failed: true, latencyMs: 30_000 });
    await scheduler.advance(1000);
    budget.record({ status: 429, latencyMs: 10 });
    const before = demand.grants.length;
    await scheduler.advance(1000);
    const troubled = demand.grants.length - before;
    await scheduler.advance(30_000);
    const recoveredFrom = demand.grants.length;
    await scheduler.advance(1000);
    const recovered = demand.grants.length - recoveredFrom;
    await demand.stop();
    expect(calm).toBeGreaterThanOrEqual(95);
    expect(troubled).toBeLessThanOrEqual(35);
    expect(recovered).toBeGreaterThanOrEqual(90);
  });

  it('treats slow answers as trouble', () => {
    const { budget } = buildBudget({ callsPerSecond: 40, adaptive: { latencyThresholdMs: 2000 } });
    budget.record({ status: 200, latencyMs: 1999 });
    expect(budget.usage().currentCallsPerSecond).toBe(40);
    budget.record({ status: 200, latencyMs: 2500 });
    expect(budget.usage().currentCallsPerSecond).toBe(20);
  });

  it('pauses every call until a Retry-After has passed', async () => {
    const { budget, scheduler } = buildBudget({ callsPerSecond: 100 });
    budget.record({ status: 429, latencyMs: 5, retryAfterMs: 3000 });
    let granted = false;
    const pending = budget.acquire('read').then(() => (granted = true));
    await scheduler.advance(2999);
    expect(granted).toBe(false);
    expect(budget.usage().pausedUntil).not.toBeNull();
    await scheduler.advance(2);
    await pending;
    expect(granted).toBe(true);
  });
});

describe('CallBudget daily budgets', () => {
  it('refuses calls beyond calls per day with CAMPAIGN_BUDGET_EXHAUSTED and the time to midnight', async () => {
    const scheduler = new ManualScheduler(Date.UTC(2026, 0, 5, 23, 59, 0));
    const { budget } = buildBudget(
      { callsPerSecond: 1000, burst: 1000, callsPerDay: 3, maxWaitMs: 1000 },
      scheduler,
    );
    for (let i = 0; i < 3; i++) await budget.acquire('read');
    const error = await budget.acquire('read').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).code).toBe('CAMPAIGN_BUDGET_EXHAUSTED');
    expect((error as RateLimitedError).retryAfterMs).toBe(60_000);
    expect(budget.usage()).toMatchObject({ callsToday: 3, callsPerDay: 3 });
    await scheduler.advance(60_000);
    await budget.acquire('read');
    expect(budget.usage()).toMatchObject({ day: '2026-01-06', callsToday: 1 });
  });

  it('charges engine calls per kind (insert 1, update 2, delete 1, read 0)', async () => {
    const { budget } = buildBudget({ callsPerSecond: 1000, burst: 1000, engineCallsPerDay: 5 });
    await budget.acquire('read');
    await budget.acquire('insert');
    await budget.acquire('update');
    await budget.acquire('delete');
    expect(budget.usage().engineCallsToday).toBe(4);
    await budget.acquire('read');
    await budget.acquire('insert');
    await expect(budget.acquire('update')).rejects.toMatchObject({ code: 'CAMPAIGN_BUDGET_EXHAUSTED' });
    await budget.acquire('read');
    expect(budget.usage().engineCallsToday).toBe(5);
  });

  it('waits for a day boundary only when that is within maxWaitMs', async () => {
    const scheduler = new ManualScheduler(Date.UTC(2026, 0, 5, 23, 59, 59, 500));
    const { budget } = buildBudget({ callsPerSecond: 10, callsPerDay: 1, maxWaitMs: 1000 }, scheduler);
    await budget.acquire('insert');
    let granted = false;
    const pending = budget.acquire('insert').then(() => (granted = true));
    await scheduler.advance(499);
    expect(granted).toBe(false);
    await scheduler.advance(1);
    await pending;
    expect(granted).toBe(true);
  });
});

describe('CallBudget lanes', () => {
  it('starts waiting live calls before waiting bulk calls', async () => {
    const { budget, scheduler } = buildBudget({ callsPerSecond: 2, burst: 1 });
    await budget.acquire('insert', { lane: 'bulk' });
    const order: string[] = [];
    const bulk = [1, 2, 3].map((n) =>
      budget.acquire('insert', { lane: 'bulk' }).then(() => order.push(`bulk${n}`)),
    );
    const live = [1, 2].map((n) =>
      budget.acquire('insert', { lane: 'live' }).then(() => order.push(`live${n}`)),
    );
    expect(budget.usage().waiting).toEqual({ live: 2, bulk: 3 });
    await scheduler.advance(5000);
    await Promise.all([...bulk, ...live]);
    expect(order).toEqual(['live1', 'live2', 'bulk1', 'bulk2', 'bulk3']);
  });

  it('gives up a waiting call when its signal aborts, without blocking the others', async () => {
    const { budget, scheduler } = buildBudget({ callsPerSecond: 1, burst: 1 });
    await budget.acquire('read');
    const controller = new AbortController();
    const aborted = budget.acquire('read', { signal: controller.signal });
    const next = budget.acquire('read');
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    await scheduler.advance(1100);
    await expect(next).resolves.toBeUndefined();
  });

  it('rejects bad limits', () => {
    expect(() => new CallBudget({ callsPerSecond: 0 })).toThrow(RangeError);
    expect(() => new CallBudget({ callsPerSecond: 5, callsPerDay: -1 })).toThrow(RangeError);
    expect(() => new CallBudget({ callsPerSecond: 5, adaptive: { decreaseFactor: 1 } })).toThrow(RangeError);
  });
});

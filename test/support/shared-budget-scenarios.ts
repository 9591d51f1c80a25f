import { describe, expect, it } from 'vitest';
import { formatUtcDay, type Clock } from '../../src/core/clock.js';
import { RateLimitedError } from '../../src/core/errors.js';
import type { BudgetStore } from '../../src/core/ports/budget-store.js';
import { maxInAnyWindow, SharedBudgetHarness } from './shared-budget-harness.js';

/** Opens the budget stores of one test: `storeFor(i)` is worker i's (one store, or one per worker). */
export interface SharedBudgetStores {
  /** Stores on `clock` (the workers' manual clock). */
  open(clock: Clock): Promise<{ storeFor: (index: number) => BudgetStore; close(): Promise<void> }>;
}

const start = Date.UTC(2026, 0, 5, 10, 0, 0);
/** Close to the day's end, so that waiting for the next UTC day costs little manual time. */
const nearMidnight = Date.UTC(2026, 0, 5, 23, 58, 0);

/**
 * The shared call budget's guarantees, for any store: several workers (CallBudget instances with
 * their own slices) on one manual clock.
 */
export function describeSharedBudget(label: string, stores: SharedBudgetStores): void {
  describe(`shared call budget (${label})`, () => {
    async function withHarness(
      options: ConstructorParameters<typeof SharedBudgetHarness>[1],
      fn: (h: SharedBudgetHarness) => Promise<void>,
      at = start,
    ): Promise<void> {
      let storeFor: (index: number) => BudgetStore = () => {
        throw new Error('stores not open');
      };
      const harness = new SharedBudgetHarness((i) => storeFor(i), options, at);
      const opened = await stores.open(harness.clock);
      storeFor = opened.storeFor;
      try {
        await fn(harness);
      } finally {
        await harness.stopAll();
        await opened.close();
      }
    }

    it('three workers together never exceed calls per second in any one-second window, and use most of it', async () => {
      await withHarness({ callsPerSecond: 50, callsPerDay: 100_000, maxWaitMs: 60_000 }, async (h) => {
        const workers = [await h.worker(), await h.worker(), await h.worker()];
        for (const w of workers) w.demand(8);
        await h.advance(8000);
        // A worker joining late and one leaving: shares move, the ceiling holds.
        const late = await h.worker();
        late.demand(8);
        await h.advance(4000);
        await workers[0]!.stop();
        await h.advance(6000);
        const times = h.grants.map((g) => g.at);
        expect(maxInAnyWindow(times)).toBeLessThanOrEqual(50);
        // Once settled, the workers use at least 80 % of the ceiling together.
        const lastSeconds = times.filter((t) => t >= h.clock.now() - 3000).length;
        expect(lastSeconds / 3).toBeGreaterThanOrEqual(40);
        for (const w of workers.slice(1)) {
          const usage = w.budget.usage();
          expect(usage.slice?.callsPerSecond).toBeGreaterThan(0);
          expect(usage.shared?.workers).toBe(3);
        }
      });
    });

    it('never grants more than the day across restarts and crashes; waits for the next UTC day, then resumes', async () => {
      const day = 600;
      await withHarness(
        { callsPerSecond: 50, callsPerDay: day, maxWaitMs: 60_000 },
        async (h) => {
          // A crash loop: each worker spends a while, then dies without giving its slice back.
          for (let round = 0; round < 6; round++) {
            const w = await h.worker();
            w.demand(4);
            await h.advance(1500);
            if (round % 2 === 0) w.crash();
            else await w.stop();
          }
          const survivors = [await h.worker(), await h.worker(), await h.worker()];
          for (const w of survivors) w.demand(4);
          await h.advance(20_000);
          const today = formatUtcDay(nearMidnight);
          const todays = h.grants.filter((g) => formatUtcDay(g.at) === today);
          expect(todays.length).toBeLessThanOrEqual(day);
          // Most of the day is used: each of the 3 crashes loses at most its slice (a second at 50/s).
          expect(todays.length).toBeGreaterThanOrEqual(day - 3 * 50);
          const exhausted = h.errors.filter(
            (e) => e instanceof RateLimitedError && e.code === 'CAMPAIGN_BUDGET_EXHAUSTED',
          ) as RateLimitedError[];
          expect(exhausted.length).toBeGreaterThan(0);
          const usage = survivors[0]!.budget.usage();
          expect(usage.shared?.dayExhausted).toBe(true);
          expect(usage.callsToday).toBeLessThanOrEqual(day);
          expect(usage.callsToday).toBeGreaterThanOrEqual(todays.length - (usage.slice?.calls ?? 0));
          // A fresh worker (a restart) is refused too, with the time to midnight.
          const fresh = await h.worker();
          const refused = await fresh.budget.acquire('insert').catch((e: unknown) => e);
          expect(refused).toBeInstanceOf(RateLimitedError);
          const nextDay = Date.UTC(2026, 0, 6);
          expect((refused as RateLimitedError).retryAfterMs).toBe(nextDay - h.clock.now());
          // The next UTC day: work resumes.
          await h.advance(nextDay - h.clock.now(), 100);
          fresh.demand(2);
          await h.advance(3000);
          const tomorrow = h.grants.filter((g) => formatUtcDay(g.at) === formatUtcDay(nextDay));
          expect(tomorrow.length).toBeGreaterThan(50);
        },
        nearMidnight,
      );
    });

    it("one worker's 429 cuts every worker's rate within about a second, and the rate grows back", async () => {
      await withHarness({ callsPerSecond: 40, callsPerDay: 1_000_000 }, async (h) => {
        const a = await h.worker();
        const b = await h.worker();
        a.demand(4);
        b.demand(4);
        await h.advance(6000);
        const before = h.grants.filter((g) => g.owner === b.owner && g.at > h.clock.now() - 2000).length / 2;
        expect(before).toBeGreaterThanOrEqual(15);
        a.budget.record({ status: 429, latencyMs: 5 });
        await h.advance(1500);
        const cutAt = h.clock.now();
        await h.advance(2000);
        const after = h.grants.filter((g) => g.owner === b.owner && g.at > cutAt).length / 2;
        expect(after).toBeLessThanOrEqual(before * 0.6);
        expect(b.budget.usage().rateCuts).toBe(1);
        expect(b.budget.usage().lastTrouble?.reason).toBe('HTTP 429');
        await h.advance(20_000);
        const recovered =
          h.grants.filter((g) => g.owner === b.owner && g.at > h.clock.now() - 2000).length / 2;
        expect(recovered).toBeGreaterThanOrEqual(15);
        expect(maxInAnyWindow(h.grants.map((g) => g.at))).toBeLessThanOrEqual(40);
      });
    });

    it("one worker's Retry-After holds every worker back", async () => {
      await withHarness({ callsPerSecond: 20, callsPerDay: 1_000_000 }, async (h) => {
        const a = await h.worker();
        const b = await h.worker();
        a.demand(2);
        b.demand(2);
        await h.advance(3000);
        a.budget.record({ status: 429, latencyMs: 5, retryAfterMs: 10_000 });
        const pausedAt = h.clock.now();
        await h.advance(1200);
        const seen = h.clock.now();
        await h.advance(7000);
        expect(
          h.grants.filter((g) => g.owner === b.owner && g.at > seen && g.at < pausedAt + 10_000),
        ).toEqual([]);
        expect(b.budget.usage().pausedUntil).toBe(pausedAt + 10_000);
        await h.advance(4000);
        expect(
          h.grants.filter((g) => g.owner === b.owner && g.at > pausedAt + 10_000).length,
        ).toBeGreaterThan(0);
      });
    });

    it('gives an idle or stopped worker’s unspent calls back to the day', async () => {
      await withHarness({ callsPerSecond: 10, callsPerDay: 1000 }, async (h) => {
        const a = await h.worker();
        const b = await h.worker();
        a.demand(2);
        await h.advance(3000);
        expect(a.budget.usage().slice?.calls).toBeGreaterThan(0);
        await a.stop();
        await h.advance(2000);
        const spent = h.grants.length;
        // Only what was spent stays committed once the stopped and the idle worker gave theirs back.
        expect(b.budget.usage().shared?.callsCommitted).toBe(spent);
        expect(b.budget.usage().callsToday).toBe(spent);
        expect(b.budget.usage().shared?.callsSpent).toBe(spent);
      });
    });
  });
}

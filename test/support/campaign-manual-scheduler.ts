import { ManualClock } from '../../src/core/clock.js';
import type { BudgetScheduler } from '../../src/connectors/campaign/call-budget.js';

interface Timer {
  id: number;
  at: number;
  callback: () => void;
}

/**
 * Timers driven by a {@link ManualClock}: `advance(ms)` moves time forward timer by timer, firing
 * each at its due instant, so the call budget can be tested without sleeping.
 */
export class ManualScheduler implements BudgetScheduler {
  readonly clock: ManualClock;
  private timers: Timer[] = [];
  private nextId = 1;

  constructor(start = Date.UTC(2026, 0, 5, 10, 0, 0)) {
    this.clock = new ManualClock(start);
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { id: this.nextId++, at: this.clock.now() + Math.max(0, ms), callback };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  pending(): number {
    return this.timers.length;
  }

  /** Move time forward by `ms`, firing due timers in order; settles promise callbacks after each. */
  async advance(ms: number): Promise<void> {
    const end = this.clock.now() + ms;
    for (;;) {
      await flushMicrotasks();
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const due = this.timers[0];
      if (!due || due.at > end) break;
      this.timers.shift();
      this.clock.set(Math.max(this.clock.now(), due.at));
      due.callback();
    }
    this.clock.set(end);
    await flushMicrotasks();
  }
}

/** Let every pending promise reaction run (a macrotask turn drains the microtask queue). */
export async function flushMicrotasks(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

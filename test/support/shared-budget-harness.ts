import type { BudgetStore } from '../../src/core/ports/budget-store.js';
import type { CallKind } from '../../src/connectors/adobe/adobe-call-gate.js';
import { CallBudget, type CallBudgetOptions } from '../../src/connectors/campaign/call-budget.js';
import { flushMicrotasks, ManualScheduler } from './campaign-manual-scheduler.js';
import type { BudgetScheduler } from '../../src/connectors/campaign/call-budget.js';

/** A worker's timers on the shared manual scheduler; `kill()` drops them all (a `kill -9`). */
class WorkerScheduler implements BudgetScheduler {
  dead = false;
  constructor(private readonly inner: ManualScheduler) {}
  setTimeout(callback: () => void, ms: number): unknown {
    return this.inner.setTimeout(() => {
      if (!this.dead) callback();
    }, ms);
  }
  clearTimeout(handle: unknown): void {
    this.inner.clearTimeout(handle);
  }
}

export interface BudgetWorker {
  readonly owner: string;
  readonly budget: CallBudget;
  /** Start `callers` loops that acquire calls of `kind` until stopped. */
  demand(callers: number, kind?: CallKind): void;
  /** Stop calling and give the slice back (a graceful stop). */
  stop(): Promise<void>;
  /** Stop dead: no more timers, no release (the slice stays with the store). */
  crash(): void;
}

/**
 * Several shared-budget workers in one test process, on one manual clock: every grant is noted
 * with its time, and `advance` moves time while waiting for the store's answers to each lease.
 */
export class SharedBudgetHarness {
  readonly scheduler: ManualScheduler;
  readonly grants: { at: number; owner: string }[] = [];
  readonly errors: unknown[] = [];
  private readonly workers: BudgetWorker[] = [];
  private next = 1;

  constructor(
    private readonly storeFor: (index: number) => BudgetStore,
    private readonly options: Omit<CallBudgetOptions, 'clock' | 'scheduler' | 'shared'>,
    start?: number,
  ) {
    this.scheduler = new ManualScheduler(start);
  }

  get clock() {
    return this.scheduler.clock;
  }

  async worker(extra: Partial<CallBudgetOptions> = {}): Promise<BudgetWorker> {
    const index = this.next++;
    const owner = `host:${1000 + index}:w${index}`;
    const timers = new WorkerScheduler(this.scheduler);
    const budget = new CallBudget({
      ...this.options,
      ...extra,
      clock: this.scheduler.clock,
      scheduler: timers,
      shared: { store: this.storeFor(index), owner, leaseMs: 3000, renewMs: 1000 },
    });
    await budget.start();
    let running = true;
    const loops: Promise<void>[] = [];
    const worker: BudgetWorker = {
      owner,
      budget,
      demand: (callers, kind = 'insert') => {
        for (let i = 0; i < callers; i++)
          loops.push(
            (async () => {
              while (running) {
                try {
                  await budget.acquire(kind, { lane: 'bulk' });
                  if (running && !timers.dead) this.grants.push({ at: this.clock.now(), owner });
                } catch (error) {
                  if (!running) return;
                  this.errors.push(error);
                  // Exhausted: try again a little later (as the engine would, much later).
                  await this.clock.sleep(1000);
                }
              }
            })(),
          );
      },
      stop: async () => {
        running = false;
        await budget.closeAndRelease(new Error('stopped'));
      },
      crash: () => {
        running = false;
        timers.dead = true;
      },
    };
    this.workers.push(worker);
    return worker;
  }

  /** Move time by `ms` in steps of `stepMs`, letting every worker's store round trips finish. */
  async advance(ms: number, stepMs = 10): Promise<void> {
    for (let done = 0; done < ms; done += stepMs) {
      await this.scheduler.advance(Math.min(stepMs, ms - done));
      await this.settle();
    }
  }

  async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await Promise.all(this.workers.map((w) => w.budget.leaseSettled()));
      await flushMicrotasks();
    }
  }

  async stopAll(): Promise<void> {
    for (const worker of this.workers) {
      worker.crash();
      worker.budget.close(new Error('test over'));
    }
    await flushMicrotasks();
  }
}

/** The most grants in any window of `windowMs` (grant times in order). */
export function maxInAnyWindow(times: readonly number[], windowMs = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start++;
    max = Math.max(max, end - start + 1);
  }
  return max;
}

import { formatUtcDay, type Clock } from '../../core/clock.js';
import type {
  BudgetDayState,
  BudgetLimits,
  BudgetStore,
  SharedAdaptiveRule,
  SliceLease,
  SliceLeaseRequest,
} from '../../core/ports/budget-store.js';
import type { CallBudgetUsage } from '../../core/ports/call-budget.js';

/** What a worker may spend now of the shared budget (its slice), as the local budget holds it. */
export interface LocalSlice {
  /** The UTC day the slice's calls belong to. */
  day: string;
  /** Day calls and engine calls left in the slice (null: the day is unlimited). */
  calls: number | null;
  engineCalls: number | null;
  /** The worker's share of the calls per second. */
  callsPerSecond: number;
  /** The slice is not spent at or after this time (a new lease replaces it before). */
  expiresAt: number;
  /** The day is spent for every worker: nothing starts before this time (the next UTC day). */
  exhaustedUntil: number | null;
  /** A Retry-After any worker saw: nothing starts before this time. */
  pausedUntil: number;
}

interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface BudgetSliceLeaserOptions {
  store: BudgetStore;
  owner: string;
  name?: string;
  leaseMs?: number;
  renewMs?: number;
  wholeRate?: boolean;
  limits: BudgetLimits;
  adaptive: SharedAdaptiveRule;
  windowMs: number;
  /** The highest engine-call cost of one call (the engine calls wanted per call wanted). */
  maxEngineCost: number;
  clock: Clock;
  scheduler: Timers;
  /** The local budget the slices feed. */
  budget: {
    apply(slice: LocalSlice): void;
    pump(): void;
    waiting(): number;
  };
}

const dayMs = 86_400_000;

/**
 * Keeps one worker's slice of a shared budget (docs/store.md, "Shared call budget"): renews it
 * every `renewMs` — reporting the calls spent, giving back what an idle worker holds, topping it
 * up to one renewal's worth at the worker's share, and passing on trouble and Retry-After
 * so the store cuts the shared rate for every worker — and renews at once when the local budget
 * runs dry. A lease that fails keeps the old slice until it expires; calls given back by a lease
 * that failed stay committed (never spent twice).
 */
export class BudgetSliceLeaser {
  readonly renewMs: number;
  private readonly leaseMs: number;
  private readonly name: string;
  private timer: unknown = null;
  private timerAt = Infinity;
  private lastLeaseAt = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<void> | null = null;
  private stopped = false;
  private again = false;
  private slice: LocalSlice | null = null;
  private last: SliceLease | null = null;
  private lastError: string | null = null;
  private spentCalls = 0;
  private spentEngineCalls = 0;
  private demand = false;
  private trouble: { at: number; reason: string } | null = null;
  private pauseUntil: number | null = null;

  constructor(private readonly options: BudgetSliceLeaserOptions) {
    this.name = options.name ?? 'campaign';
    this.leaseMs = options.leaseMs ?? 3000;
    this.renewMs = options.renewMs ?? 1000;
    if (!(this.renewMs > 0 && this.leaseMs > this.renewMs))
      throw new RangeError('shared budget: leaseMs must be longer than renewMs (both > 0)');
  }

  /** Lease the first slice (failing if the store cannot be reached), then keep renewing it. */
  async start(): Promise<void> {
    this.demand = true;
    await this.renew(true);
  }

  /** Give the slice back (its unspent calls return to the day) and stop renewing. */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) this.options.scheduler.clearTimeout(this.timer);
    this.timer = null;
    const slice = this.slice;
    if (slice === null) return Promise.resolve();
    const previous = this.takeBack(slice, true);
    return (this.inFlight ?? Promise.resolve())
      .then(() => this.options.store.release(this.name, this.options.owner, previous, this.options.windowMs))
      .catch(() => undefined);
  }

  /** Resolves when no lease is in flight (tests that drive time by hand wait for the store with it). */
  async settled(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  noteSpent(calls: number, engineCalls: number): void {
    this.spentCalls += calls;
    this.spentEngineCalls += engineCalls;
    this.demand = true;
  }

  noteTrouble(trouble: { at: number; reason: string }): void {
    this.trouble = trouble;
  }

  notePause(until: number): void {
    this.pauseUntil = Math.max(this.pauseUntil ?? 0, until);
  }

  /** The local budget ran dry: renew soon (one lease at a time, at most four per renewal period). */
  needSlice(): void {
    this.demand = true;
    if (this.stopped) return;
    if (this.slice !== null && this.slice.exhaustedUntil !== null && this.slice.day === this.today()) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.renewSoon();
  }

  private renewSoon(): void {
    const wait = this.lastLeaseAt + this.renewMs / 4 - this.options.clock.now();
    if (wait <= 0) {
      void this.renew(false);
      return;
    }
    if (this.timerAt <= this.options.clock.now() + wait) return;
    this.schedule(wait);
  }

  private schedule(ms: number): void {
    if (this.timer !== null) this.options.scheduler.clearTimeout(this.timer);
    this.timerAt = this.options.clock.now() + ms;
    this.timer = this.options.scheduler.setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      void this.renew(false).catch(() => undefined);
    }, ms);
  }

  /** The budget's usage with the deployment's day counts and this worker's slice. */
  usage(own: CallBudgetUsage, slice: LocalSlice | null): CallBudgetUsage {
    const state: BudgetDayState | undefined = this.last?.state;
    if (!state || !slice || state.day !== own.day) return { ...own, slice: this.sliceInfo(slice) };
    const held = slice.calls ?? 0;
    return {
      ...own,
      // Every call granted and not given back: spent, or held by a worker (this one's not counted).
      callsToday: Math.max(0, state.callsCommitted - held),
      engineCallsToday: Math.max(0, state.engineCallsCommitted - (slice.engineCalls ?? 0)),
      // The deployment's rate in force (this worker's share is in `slice`).
      currentCallsPerSecond: state.callsPerSecond,
      callsPerSecondLimit: state.callsPerSecondLimit,
      rateCuts: state.rateCuts,
      lastTrouble: state.lastCut ?? own.lastTrouble,
      slice: this.sliceInfo(slice),
      shared: {
        callsSpent: state.callsSpent + this.spentCalls,
        callsCommitted: state.callsCommitted,
        workers: state.liveSlices,
        dayExhausted: slice.exhaustedUntil !== null,
        lastLeaseError: this.lastError,
      },
    };
  }

  private sliceInfo(slice: LocalSlice | null): NonNullable<CallBudgetUsage['slice']> | null {
    if (!slice) return null;
    return {
      calls: slice.calls,
      engineCalls: slice.engineCalls,
      callsPerSecond: slice.callsPerSecond,
      expiresAt: slice.expiresAt,
    };
  }

  private today(): string {
    return formatUtcDay(this.options.clock.now());
  }

  /** What the next lease reports of the current slice; takes back (removes locally) what it returns. */
  private takeBack(slice: LocalSlice, all: boolean): NonNullable<SliceLeaseRequest['previous']> {
    const target = this.target(slice);
    const oldDay = slice.day !== this.today();
    const keepCalls = all || oldDay ? 0 : target.calls;
    const keepEngine = all || oldDay ? 0 : target.engineCalls;
    const returnedCalls = slice.calls === null ? 0 : Math.max(0, slice.calls - keepCalls);
    const returnedEngineCalls = slice.engineCalls === null ? 0 : Math.max(0, slice.engineCalls - keepEngine);
    if (slice.calls !== null) slice.calls -= returnedCalls;
    if (slice.engineCalls !== null) slice.engineCalls -= returnedEngineCalls;
    const previous = {
      day: slice.day,
      spentCalls: this.spentCalls,
      spentEngineCalls: this.spentEngineCalls,
      returnedCalls,
      returnedEngineCalls,
    };
    this.spentCalls = 0;
    this.spentEngineCalls = 0;
    return previous;
  }

  /**
   * One renewal's worth of calls at the worker's share (at least one call), or none when idle: what
   * a worker that dies loses of the day at most. A worker that runs dry sooner renews early.
   */
  private target(slice: LocalSlice | null): { calls: number; engineCalls: number } {
    if (!this.demand) return { calls: 0, engineCalls: 0 };
    const share = Math.max(1, slice?.callsPerSecond ?? 1, this.expectedShare());
    const calls = Math.max(1, Math.ceil((share * this.renewMs) / 1000));
    return { calls, engineCalls: calls * Math.max(1, this.options.maxEngineCost) };
  }

  private expectedShare(): number {
    const state = this.last?.state;
    // Before the first lease the share is not known: ask for the whole rate's renewal (the store
    // grants what the day leaves, and an idle worker gives it back with its next lease).
    if (!state) return this.options.limits.callsPerSecond;
    return Math.floor(state.callsPerSecond / Math.max(1, state.liveSlices));
  }

  private renew(first: boolean): Promise<void> {
    if (this.timer !== null) this.options.scheduler.clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    this.lastLeaseAt = this.options.clock.now();
    const run = this.leaseOnce(first).finally(() => {
      this.inFlight = null;
      if (this.stopped) return;
      this.schedule(this.renewMs);
      if (this.again) {
        this.again = false;
        this.renewSoon();
      }
    });
    this.inFlight = run.catch(() => undefined);
    return run;
  }

  private async leaseOnce(first: boolean): Promise<void> {
    const day = this.today();
    const slice = this.slice;
    const previous = slice ? this.takeBack(slice, false) : null;
    const held =
      slice && slice.day === day ? { calls: slice.calls ?? 0, engineCalls: slice.engineCalls ?? 0 } : null;
    const target = this.target(slice);
    const trouble = this.trouble;
    const pauseUntil = this.pauseUntil;
    const request: SliceLeaseRequest = {
      budget: this.name,
      owner: this.options.owner,
      day,
      limits: this.options.limits,
      adaptive: this.options.adaptive,
      wantCalls: Math.max(0, target.calls - (held?.calls ?? 0)),
      wantEngineCalls: Math.max(0, target.engineCalls - (held?.engineCalls ?? 0)),
      previous,
      trouble,
      pauseUntil,
      leaseMs: this.leaseMs,
      windowMs: this.options.windowMs,
      ...(this.options.wholeRate ? { wholeRate: true } : {}),
    };
    // Demand is what happens from now on; waiting calls count as demand.
    this.demand = this.options.budget.waiting() > 0;
    let lease: SliceLease;
    try {
      lease = await this.options.store.lease(request);
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      // Spent calls are reported again with the next lease (display only); returned calls stay lost.
      if (previous) {
        this.spentCalls += previous.spentCalls;
        this.spentEngineCalls += previous.spentEngineCalls;
      }
      if (first) throw error;
      return;
    }
    this.lastError = null;
    if (this.trouble === trouble) this.trouble = null;
    if (this.pauseUntil === pauseUntil) this.pauseUntil = null;
    this.last = lease;
    const now = this.options.clock.now();
    const current = this.slice;
    const sameDay = current !== null && current.day === lease.day;
    const next: LocalSlice = {
      day: lease.day,
      calls: lease.calls === null ? null : (sameDay ? (current.calls ?? 0) : 0) + lease.calls,
      engineCalls:
        lease.engineCalls === null ? null : (sameDay ? (current.engineCalls ?? 0) : 0) + lease.engineCalls,
      callsPerSecond: lease.callsPerSecond,
      expiresAt: lease.expiresAt,
      exhaustedUntil: lease.dayExhausted ? (Math.floor(now / dayMs) + 1) * dayMs : null,
      pausedUntil: lease.state.pausedUntil ?? 0,
    };
    // A lease of an older day (the day turned during the round trip) is empty for today.
    if (next.day !== this.today()) {
      next.calls = next.calls === null ? null : 0;
      next.engineCalls = next.engineCalls === null ? null : 0;
      next.exhaustedUntil = null;
      this.again = true;
    }
    this.slice = next;
    this.options.budget.apply(next);
  }
}

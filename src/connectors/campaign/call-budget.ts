import { budgetLanes, type BudgetLane, type CallBudgetUsage } from '../../core/ports/call-budget.js';
import { formatUtcDay, systemClock, type Clock } from '../../core/clock.js';
import { RateLimitedError } from '../../core/errors.js';
import type { AdobeCallGate, CallKind, CallOutcome } from '../adobe/adobe-call-gate.js';
import type { BudgetStore } from '../../core/ports/budget-store.js';
import { BudgetSliceLeaser, type LocalSlice } from './budget-slice-leaser.js';

/** The adaptive rate moved: cut after trouble (`reason`), or back at the configured ceiling (null). */
export interface RateChange {
  callsPerSecond: number;
  limit: number;
  reason: string | null;
}

/** Timers the budget waits with; injectable so tests drive it with a manual clock. */
export interface BudgetScheduler {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Real timers for the waits of calls: ref'd, because a waiting call is work the process still has
 * to do (a command that only waits for a slice of the shared budget must not end with exit 13).
 */
const realScheduler: BudgetScheduler = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Real timers for background work (renewing the slice): unref'd, so they never keep a process up. */
const backgroundScheduler: BudgetScheduler = {
  setTimeout: (callback, ms) => {
    const handle = setTimeout(callback, ms);
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Engine-call cost per kind: insert 1, update 2, delete 1 (d365-acs guardrails); reads 0. */
export const defaultEngineCallCost: Readonly<Record<CallKind, number>> = {
  read: 0,
  insert: 1,
  update: 2,
  delete: 1,
};

/** How the rate adapts (AIMD): cut on trouble, grow back linearly while calm. */
export interface AdaptiveOptions {
  /** @default true */
  enabled?: boolean;
  /** Floor of the adaptive rate. @default 5 % of callsPerSecond (at least 0.1) */
  minCallsPerSecond?: number;
  /** Factor applied to the rate on trouble. @default 0.5 */
  decreaseFactor?: number;
  /** Calls per second regained per calm second. @default 5 % of callsPerSecond */
  increasePerSecond?: number;
  /** Calm time after trouble before the rate starts to grow back. @default 5000 */
  recoveryDelayMs?: number;
  /** A call slower than this counts as trouble. @default 5000 */
  latencyThresholdMs?: number;
  /** At most one cut per this many ms, so one burst of failures cuts once. @default 1000 */
  cooldownMs?: number;
}

export interface CallBudgetOptions {
  /** Hard ceiling: never more calls than this in any one-second window. Required. */
  callsPerSecond: number;
  /** Calls per UTC day (all kinds). @default null (unlimited) */
  callsPerDay?: number | null;
  /** Engine calls per UTC day, charged per kind with `engineCallCost`. @default null (unlimited) */
  engineCallsPerDay?: number | null;
  /** @default {@link defaultEngineCallCost} */
  engineCallCost?: Partial<Record<CallKind, number>>;
  /** Token-bucket capacity (calls that may start back to back). @default max(1, callsPerSecond / 10) */
  burst?: number;
  /**
   * The ceiling is held over a window this much longer than a second, so that network jitter
   * (a call delayed on its way while the next one is not) cannot push Campaign's view of a
   * second above the limit. Costs at most margin/1000 of the rate. @default 50
   */
  windowMarginMs?: number;
  /** Called for every call the budget lets start (metrics, audits of I10). */
  onGrant?: (grant: { kind: CallKind; lane: BudgetLane; at: number }) => void;
  adaptive?: AdaptiveOptions;
  /**
   * A call that cannot start within this many ms (daily budget spent, long Retry-After) fails with
   * RateLimitedError `CAMPAIGN_BUDGET_EXHAUSTED` and its retry time, instead of waiting.
   * @default 60_000
   */
  maxWaitMs?: number;
  /**
   * Share the budget with every worker of the deployment through the store (docs/store.md, "Shared
   * call budget"): the day counts are durable and the limits hold across all workers together.
   * Call {@link CallBudget.start} before the first call.
   */
  shared?: SharedBudgetOptions;
  /** @default systemClock */
  clock?: Clock;
  /** @default real timers (a call's wait is ref'd, the slice's renewal unref'd) */
  scheduler?: BudgetScheduler;
}

/** Where and how a shared budget leases its slices. */
export interface SharedBudgetOptions {
  store: BudgetStore;
  /** The worker's identity (host:pid:n). */
  owner: string;
  /** @default 'campaign' */
  name?: string;
  /** How long a slice lasts unless renewed. @default 3000 */
  leaseMs?: number;
  /** How often the slice is renewed (and the shared rate read). @default 1000 */
  renewMs?: number;
  /** Take the whole shared rate and hold none of it (a runtime on an injected test clock). @default false */
  wholeRate?: boolean;
}

interface Waiter {
  kind: CallKind;
  resolve: () => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

const dayMs = 86_400_000;

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number`);
  return value;
}

/**
 * The one pacing gate every Campaign call passes, shared by all flows and clients (I10):
 * - a token bucket at the adaptive rate, plus a sliding one-second window at the configured
 *   ceiling, so no second ever holds more than `callsPerSecond` calls;
 * - calls per UTC day and engine calls per UTC day (insert 1, update 2, delete 1);
 * - AIMD: 429, 5xx, transport failures and slow answers halve the rate (once per cooldown); after
 *   a calm spell the rate grows back linearly up to the ceiling; a Retry-After pauses every call
 *   until it passes;
 * - two lanes: waiting live calls always start before waiting bulk calls.
 */
export class CallBudget implements AdobeCallGate {
  private limit: number;
  private readonly callsPerDay: number | null;
  private readonly engineCallsPerDay: number | null;
  private readonly cost: Record<CallKind, number>;
  private burst: number;
  private readonly fixedBurst: boolean;
  private readonly maxWaitMs: number;
  private readonly windowMs: number;
  private readonly onGrant: CallBudgetOptions['onGrant'];
  private readonly clock: Clock;
  private readonly scheduler: BudgetScheduler;
  private readonly adaptive: Required<AdaptiveOptions>;

  private rate: number;
  private tokens: number;
  private lastRefill: number;
  private lastIncrease: number;
  private lastCut = Number.NEGATIVE_INFINITY;
  private pausedUntil = 0;
  private rateCuts = 0;
  private readonly rateListeners: ((change: RateChange) => void)[] = [];
  private lastTrouble: { at: number; reason: string } | null = null;
  /** Start times of granted calls (oldest first); entries before `recentHead` are older than a second. */
  private recent: number[] = [];
  private recentHead = 0;
  private day = '';
  private callsToday = 0;
  private engineCallsToday = 0;
  private readonly queues: Record<BudgetLane, Waiter[]> = { live: [], bulk: [] };
  private timer: unknown = null;

  constructor(options: CallBudgetOptions) {
    this.limit = positive('callsPerSecond', options.callsPerSecond);
    this.callsPerDay = options.callsPerDay ?? null;
    this.engineCallsPerDay = options.engineCallsPerDay ?? null;
    if (this.callsPerDay !== null) positive('callsPerDay', this.callsPerDay);
    if (this.engineCallsPerDay !== null) positive('engineCallsPerDay', this.engineCallsPerDay);
    this.cost = { ...defaultEngineCallCost, ...options.engineCallCost };
    this.burst = positive('burst', options.burst ?? Math.max(1, this.limit / 10));
    this.fixedBurst = options.burst !== undefined;
    this.maxWaitMs = options.maxWaitMs ?? 60_000;
    this.windowMs = 1000 + Math.max(0, options.windowMarginMs ?? 50);
    this.onGrant = options.onGrant;
    this.clock = options.clock ?? systemClock;
    this.scheduler = options.scheduler ?? realScheduler;
    const a = options.adaptive ?? {};
    this.adaptive = {
      enabled: a.enabled ?? true,
      minCallsPerSecond: a.minCallsPerSecond ?? Math.max(0.1, this.limit * 0.05),
      decreaseFactor: a.decreaseFactor ?? 0.5,
      increasePerSecond: a.increasePerSecond ?? this.limit * 0.05,
      recoveryDelayMs: a.recoveryDelayMs ?? 5000,
      latencyThresholdMs: a.latencyThresholdMs ?? 5000,
      cooldownMs: a.cooldownMs ?? 1000,
    };
    if (!(this.adaptive.decreaseFactor > 0 && this.adaptive.decreaseFactor < 1))
      throw new RangeError('adaptive.decreaseFactor must be between 0 and 1');
    const now = this.clock.now();
    this.rate = this.limit;
    this.tokens = this.burst;
    this.lastRefill = now;
    this.lastIncrease = now;
    if (options.shared) {
      this.leaser = new BudgetSliceLeaser({
        ...options.shared,
        limits: {
          callsPerSecond: this.limit,
          callsPerDay: this.callsPerDay,
          engineCallsPerDay: this.engineCallsPerDay,
        },
        adaptive: this.adaptive,
        windowMs: this.windowMs,
        maxEngineCost: Math.max(...Object.values(this.cost)),
        clock: this.clock,
        scheduler: options.scheduler ?? backgroundScheduler,
        budget: {
          apply: (slice) => this.applySlice(slice),
          pump: () => this.pump(),
          waiting: () => this.queues.live.length + this.queues.bulk.length,
        },
      });
      // Nothing may start before the first slice.
      this.slice = {
        day: '',
        calls: 0,
        engineCalls: 0,
        expiresAt: 0,
        callsPerSecond: 0,
        exhaustedUntil: null,
        pausedUntil: 0,
      };
    }
  }

  private readonly leaser: BudgetSliceLeaser | null = null;
  private released: Promise<void> | null = null;

  /** Shared mode: resolves when no slice lease is in flight (for tests that drive time by hand). */
  async leaseSettled(): Promise<void> {
    await this.leaser?.settled();
  }

  /** Close and, in shared mode, wait until the slice is given back to the store. */
  async closeAndRelease(reason?: unknown): Promise<void> {
    this.close(reason);
    await this.released;
  }
  /** Shared mode: what this worker may spend now (its slice of the deployment's budget). */
  private slice: LocalSlice | null = null;

  /** Shared mode: lease the first slice and keep renewing it. A no-op for a budget of its own. */
  async start(): Promise<void> {
    await this.leaser?.start();
  }

  /** Take a new slice: the worker's share of the rate and what it may spend of the day. */
  private applySlice(slice: LocalSlice): void {
    const now = this.clock.now();
    this.refill(now);
    this.slice = slice;
    // A share below one call per second starts nothing (see `starved`); the rate stays positive.
    const share = Math.max(slice.callsPerSecond, 0.001);
    if (share !== this.limit) {
      this.limit = share;
      if (!this.fixedBurst) this.burst = Math.max(1, share / 10);
      this.tokens = Math.min(this.tokens, this.burst);
    }
    // The shared rate carries every worker's cut; a local cut newer than the lease stays.
    this.rate = now - this.lastCut < this.leaser!.renewMs ? Math.min(this.rate, share) : share;
    if (slice.pausedUntil > this.pausedUntil) this.pausedUntil = slice.pausedUntil;
    this.pump();
  }

  /**
   * Wait until a call of `kind` may start, then charge it. Rejects with RateLimitedError
   * (`CAMPAIGN_BUDGET_EXHAUSTED`, with `retryAfterMs`) when it could not start within `maxWaitMs`,
   * or with the signal's reason when aborted.
   */
  acquire(kind: CallKind, options: { lane?: BudgetLane; signal?: AbortSignal } = {}): Promise<void> {
    const lane = options.lane ?? 'live';
    options.signal?.throwIfAborted();
    if (this.queues.live.length === 0 && (lane === 'live' || this.queues.bulk.length === 0)) {
      const decision = this.evaluate(kind);
      if (decision.ok) {
        this.grant(kind, lane);
        return Promise.resolve();
      }
      if (decision.waitMs > this.maxWaitMs) return Promise.reject(this.exhausted(decision));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { kind, resolve, reject, signal: options.signal, onAbort: undefined };
      if (options.signal) {
        waiter.onAbort = () => {
          this.remove(lane, waiter);
          const reason: unknown = options.signal!.reason;
          reject(reason instanceof Error ? reason : new Error('call aborted'));
        };
        options.signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queues[lane].push(waiter);
      this.pump();
    });
  }

  /** Feed back a call's outcome: trouble cuts the rate, a Retry-After pauses every call. */
  record(outcome: CallOutcome): void {
    const now = this.clock.now();
    if (outcome.retryAfterMs !== undefined && outcome.retryAfterMs > 0) {
      this.pausedUntil = Math.max(this.pausedUntil, now + outcome.retryAfterMs);
      this.leaser?.notePause(this.pausedUntil);
    }
    const reason =
      outcome.failed === true
        ? 'transport failure'
        : outcome.status === 429
          ? 'HTTP 429'
          : outcome.status !== undefined && outcome.status >= 500
            ? `HTTP ${outcome.status}`
            : outcome.latencyMs > this.adaptive.latencyThresholdMs
              ? 'slow answer'
              : null;
    if (reason === null) return;
    this.lastTrouble = { at: now, reason };
    this.leaser?.noteTrouble(this.lastTrouble);
    if (!this.adaptive.enabled) return;
    this.refill(now);
    // Growth resumes only after a calm spell, so a persistent limit is not probed every second.
    this.lastIncrease = Math.max(this.lastIncrease, now + this.adaptive.recoveryDelayMs);
    if (now - this.lastCut < this.adaptive.cooldownMs) return;
    this.lastCut = now;
    this.rate = Math.max(this.adaptive.minCallsPerSecond, this.rate * this.adaptive.decreaseFactor);
    this.announce(reason);
    this.tokens = Math.min(this.tokens, 1);
    this.rateCuts++;
  }

  usage(): CallBudgetUsage {
    const now = this.clock.now();
    this.rollDay(now);
    this.refill(now);
    this.trimRecent(now);
    const own: CallBudgetUsage = {
      day: this.day,
      callsToday: this.callsToday,
      callsPerDay: this.callsPerDay,
      engineCallsToday: this.engineCallsToday,
      engineCallsPerDay: this.engineCallsPerDay,
      currentCallsPerSecond: this.rate,
      callsPerSecondLimit: this.limit,
      callsInLastSecond: this.recent.length - this.recentHead,
      waiting: { live: this.queues.live.length, bulk: this.queues.bulk.length },
      pausedUntil: this.pausedUntil > now ? this.pausedUntil : null,
      rateCuts: this.rateCuts,
      lastTrouble: this.lastTrouble,
    };
    return this.leaser ? this.leaser.usage(own, this.slice) : own;
  }

  /** Reject every waiting call (shutdown). */
  close(reason: unknown = new Error('call budget closed')): void {
    if (this.slice !== null) {
      // A closed shared budget starts nothing more: its slice goes back to the store.
      this.slice.expiresAt = 0;
      this.slice.callsPerSecond = 0;
    }
    this.released ??= this.leaser?.stop() ?? Promise.resolve();
    if (this.timer !== null) this.scheduler.clearTimeout(this.timer);
    this.timer = null;
    for (const lane of budgetLanes) {
      for (const waiter of this.queues[lane].splice(0)) {
        if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
        waiter.reject(reason);
      }
    }
  }

  // ------------------------------------------------------------------ internals

  private pump(): void {
    if (this.timer !== null) {
      this.scheduler.clearTimeout(this.timer);
      this.timer = null;
    }
    for (;;) {
      const lane: BudgetLane | null =
        this.queues.live.length > 0 ? 'live' : this.queues.bulk.length > 0 ? 'bulk' : null;
      if (lane === null) return;
      const waiter = this.queues[lane][0]!;
      const decision = this.evaluate(waiter.kind);
      if (decision.ok) {
        this.queues[lane].shift();
        this.grant(waiter.kind, lane);
        if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
        waiter.resolve();
        continue;
      }
      if (decision.waitMs > this.maxWaitMs) {
        this.queues[lane].shift();
        if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
        waiter.reject(this.exhausted(decision));
        continue;
      }
      this.timer = this.scheduler.setTimeout(
        () => {
          this.timer = null;
          this.pump();
        },
        Math.max(1, Math.ceil(decision.waitMs)),
      );
      return;
    }
  }

  private remove(lane: BudgetLane, waiter: Waiter): void {
    const queue = this.queues[lane];
    const index = queue.indexOf(waiter);
    if (index >= 0) queue.splice(index, 1);
    this.pump();
  }

  /** Can a call of `kind` start now? If not, how long until it might. */
  private evaluate(kind: CallKind): { ok: true } | { ok: false; waitMs: number; reason: string } {
    const now = this.clock.now();
    this.rollDay(now);
    this.refill(now);
    this.trimRecent(now);
    const nextDay = (Math.floor(now / dayMs) + 1) * dayMs;
    if (this.slice !== null) {
      const starved = this.starved(kind, now);
      if (starved !== null) return starved;
    }
    if (this.callsPerDay !== null && this.callsToday + 1 > this.callsPerDay)
      return { ok: false, waitMs: nextDay - now, reason: 'calls per day spent' };
    const engine = this.cost[kind];
    if (
      this.engineCallsPerDay !== null &&
      engine > 0 &&
      this.engineCallsToday + engine > this.engineCallsPerDay
    )
      return { ok: false, waitMs: nextDay - now, reason: 'engine calls per day spent' };
    if (this.pausedUntil > now) return { ok: false, waitMs: this.pausedUntil - now, reason: 'Retry-After' };
    const windowSize = Math.max(1, Math.floor(this.limit));
    if (this.recent.length - this.recentHead >= windowSize)
      return {
        ok: false,
        waitMs: this.recent[this.recent.length - windowSize]! + this.windowMs - now,
        reason: 'calls per second',
      };
    if (this.tokens < 1)
      return { ok: false, waitMs: ((1 - this.tokens) / this.rate) * 1000, reason: 'calls per second' };
    return { ok: true };
  }

  /** Shared mode: why the slice cannot pay for a call of `kind` now (and ask for a new one), or null. */
  private starved(kind: CallKind, now: number): { ok: false; waitMs: number; reason: string } | null {
    const slice = this.slice!;
    const engine = this.cost[kind];
    const short =
      slice.day !== this.day ||
      now >= slice.expiresAt ||
      slice.callsPerSecond < 1 ||
      (slice.calls !== null && slice.calls < 1) ||
      (slice.engineCalls !== null && engine > 0 && slice.engineCalls < engine);
    if (!short) return null;
    this.leaser!.needSlice();
    if (slice.exhaustedUntil !== null && slice.day === this.day)
      return {
        ok: false,
        waitMs: slice.exhaustedUntil - now,
        reason: 'calls per day spent (all workers)',
      };
    return { ok: false, waitMs: this.leaser!.renewMs, reason: 'waiting for a slice of the shared budget' };
  }

  private grant(kind: CallKind, lane: BudgetLane): void {
    const now = this.clock.now();
    if (this.slice !== null) {
      if (this.slice.calls !== null) this.slice.calls -= 1;
      if (this.slice.engineCalls !== null) this.slice.engineCalls -= this.cost[kind];
      this.leaser!.noteSpent(1, this.cost[kind]);
    }
    this.tokens -= 1;
    this.recent.push(now);
    this.callsToday++;
    this.engineCallsToday += this.cost[kind];
    this.onGrant?.({ kind, lane, at: now });
  }

  private exhausted(decision: { waitMs: number; reason: string }): RateLimitedError {
    return new RateLimitedError(
      'campaign',
      `Campaign call budget: ${decision.reason}; next call possible in ${Math.ceil(decision.waitMs / 1000)} s`,
      {
        code: 'CAMPAIGN_BUDGET_EXHAUSTED',
        retryAfterMs: Math.ceil(decision.waitMs),
      },
    );
  }

  /** Listen to the adaptive rate: each cut (with its reason) and its return to the ceiling (reason null). */
  onRateChange(listener: (change: RateChange) => void): void {
    this.rateListeners.push(listener);
  }

  private announce(reason: string | null): void {
    for (const listener of this.rateListeners)
      listener({ callsPerSecond: this.rate, limit: this.limit, reason });
  }

  private refill(now: number): void {
    if (this.adaptive.enabled && this.rate < this.limit && now > this.lastIncrease) {
      this.rate = Math.min(
        this.limit,
        this.rate + (this.adaptive.increasePerSecond * (now - this.lastIncrease)) / 1000,
      );
      if (this.rate === this.limit) this.announce(null);
    }
    this.lastIncrease = Math.max(this.lastIncrease, now);
    if (now > this.lastRefill) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastRefill) / 1000) * this.rate);
      this.lastRefill = now;
    }
  }

  private trimRecent(now: number): void {
    while (this.recentHead < this.recent.length && this.recent[this.recentHead]! <= now - this.windowMs)
      this.recentHead++;
    if (this.recentHead > 1024 && this.recentHead * 2 > this.recent.length) {
      this.recent = this.recent.slice(this.recentHead);
      this.recentHead = 0;
    }
  }

  private rollDay(now: number): void {
    const day = formatUtcDay(now);
    if (day === this.day) return;
    this.day = day;
    this.callsToday = 0;
    this.engineCallsToday = 0;
  }
}

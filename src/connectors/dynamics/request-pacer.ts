import { sleepOn, type Clock } from '../../core/clock.js';
import { RateLimitedError } from '../../core/errors.js';

/**
 * Counts requests in a sliding window. Entries closer together than `granularityMs` share a
 * bucket, so memory stays bounded (about 1,000 buckets) even for a 24-hour window of millions;
 * a bucket leaves the window only when its newest request does, so the count never undercounts.
 */
export class SlidingWindowCounter {
  private readonly at: number[] = [];
  private readonly counts: number[] = [];
  private head = 0;
  private total = 0;
  private readonly granularityMs: number;

  constructor(
    /** Requests allowed in the window (an {@link ExecutionTimeWindow} moves it as it learns). */
    public limit: number,
    readonly windowMs: number,
  ) {
    this.granularityMs = Math.max(1, Math.floor(windowMs / 1000));
  }

  private prune(now: number): void {
    const from = now - this.windowMs;
    while (this.head < this.at.length && (this.at[this.head] as number) <= from) {
      this.total -= this.counts[this.head] as number;
      this.head++;
    }
    if (this.head > 512 && this.head * 2 > this.at.length) {
      this.at.splice(0, this.head);
      this.counts.splice(0, this.head);
      this.head = 0;
    }
  }

  /**
   * Milliseconds until one more request fits (0 when it fits now), with `pending` requests in
   * flight that will be counted when they finish.
   */
  delayMs(now: number, pending = 0): number {
    this.prune(now);
    if (this.total + pending < this.limit) return 0;
    let excess = this.total + pending - this.limit + 1;
    for (let i = this.head; i < this.at.length; i++) {
      excess -= this.counts[i] as number;
      if (excess <= 0) return (this.at[i] as number) + this.windowMs - now + 1;
    }
    // Only requests still in flight hold the window: look again shortly.
    return 10;
  }

  record(now: number): void {
    const last = this.at.length - 1;
    if (last >= this.head && now - (this.at[last] as number) < this.granularityMs) {
      this.counts[last] = (this.counts[last] as number) + 1;
      this.at[last] = now;
    } else {
      this.at.push(now);
      this.counts.push(1);
    }
    this.total++;
  }

  /** Requests currently counted in the window. */
  used(now: number): number {
    this.prune(now);
    return this.total;
  }
}

/**
 * Paces to Dataverse's combined execution-time limit (20 minutes per 5 minutes per user), which only
 * the server can measure: each answer's `x-ms-ratelimit-time-remaining-xrm-requests` says how much
 * of its window is left.
 *
 * The window learns what each request costs from **successive** remaining values: between two
 * answers the remaining time drops by what the requests answered in between were charged, and
 * rises by what left the server's window meanwhile (the requests this window saw leave it, at the
 * cost learnt for them). Nothing is derived from the configured limit, so a tenant whose real limit
 * is lower (or higher) than configured is paced by what its server says, not over- or under-held.
 * A request is held until the time the server last said was left — plus what has left the window
 * since, minus the requests sent or answered since at the average cost — has room for one more;
 * the wait is until enough of the requests in the window leave it. The configured limit only caps
 * that estimate. A change of request size (a bigger `$batch`) moves the average with the next
 * answers.
 */
export class ExecutionTimeWindow {
  /** When each answer in the window arrived, and what it cost (NaN: not learnt). */
  private at: number[] = [];
  private cost: number[] = [];
  private head = 0;
  /** Index of the first answer recorded since the last observation. */
  private unobservedFrom = 0;
  /** Sum and count of the learnt costs in the window. */
  private costSum = 0;
  private costCount = 0;
  /** Learnt cost of the answers that left the window since the last observation. */
  private expiredMs = 0;
  /** A drop in remaining time seen with no answer recorded since the observation before. */
  private carriedMs = 0;
  private lastRemaining: number | null = null;
  private lastObservedAt = 0;
  private observations = 0;

  constructor(
    readonly limitMs: number,
    readonly windowMs: number,
  ) {}

  private prune(now: number): void {
    const from = now - this.windowMs;
    while (this.head < this.at.length && (this.at[this.head] as number) <= from) {
      const cost = this.cost[this.head] as number;
      if (!Number.isNaN(cost)) {
        this.costSum -= cost;
        this.costCount--;
        this.expiredMs += cost;
      }
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.at.length) {
      this.at = this.at.slice(this.head);
      this.cost = this.cost.slice(this.head);
      this.unobservedFrom = Math.max(0, this.unobservedFrom - this.head);
      this.head = 0;
    }
  }

  /** The server's `x-ms-ratelimit-time-remaining-xrm-requests` of an answer at `now`. */
  observe(now: number, remainingMs: number): void {
    if (!Number.isFinite(remainingMs)) return;
    this.prune(now);
    const from = Math.max(this.head, this.unobservedFrom);
    const answered = this.at.length - from;
    if (this.lastRemaining !== null) {
      // Charged since the last answer = the drop in remaining time + what left the window since.
      const charged = Math.max(0, this.lastRemaining - remainingMs + this.expiredMs) + this.carriedMs;
      if (answered === 0) this.carriedMs = charged;
      else {
        this.carriedMs = 0;
        const each = charged / answered;
        for (let i = from; i < this.at.length; i++) this.cost[i] = each;
        this.costSum += charged;
        this.costCount += answered;
      }
    }
    // (Before the first answer there is no baseline: the answers until then stay unlearnt.)
    this.unobservedFrom = this.at.length;
    this.expiredMs = 0;
    this.lastRemaining = remainingMs;
    this.lastObservedAt = now;
    this.observations++;
  }

  /** The average execution time of a request in the window as last learnt (ms; 0 before). */
  get averageRequestMs(): number {
    return this.costCount > 0 ? this.costSum / this.costCount : 0;
  }

  /**
   * Share of the execution-time limit in use as the server last said (0–1; 0 before the first
   * answer): `1 − remaining / limit`, the limit being the larger of the configured one and what
   * the server's answers imply.
   */
  pressure(now: number): number {
    this.prune(now);
    if (this.lastRemaining === null) return 0;
    const limit = Math.max(this.limitMs, this.lastRemaining);
    const remaining = Math.min(limit, this.lastRemaining + this.expiredMs);
    return limit > 0 ? 1 - remaining / limit : 0;
  }

  delayMs(now: number, pending = 0): number {
    this.prune(now);
    const average = this.averageRequestMs;
    // Too few answers say little about the cost; none of this matters until the window fills.
    if (this.lastRemaining === null || this.observations < 3 || average <= 0) return 0;
    const unobserved = this.at.length - Math.max(this.head, this.unobservedFrom);
    const available =
      Math.min(this.limitMs, this.lastRemaining + this.expiredMs) - (unobserved + pending) * average;
    if (available >= average) return 0;
    let needed = average - available;
    for (let i = this.head; i < this.at.length; i++) {
      const cost = this.cost[i] as number;
      if (Number.isNaN(cost)) continue;
      needed -= cost;
      if (needed <= 0) return (this.at[i] as number) + this.windowMs - now + 1;
    }
    // What the window knows cannot free enough (others' requests, answers not learnt): everything
    // charged before the last answer has left the server's window a window later.
    const wait = this.lastObservedAt + this.windowMs - now + 1;
    return wait > 0 ? wait : 0;
  }

  record(now: number): void {
    this.prune(now);
    this.at.push(now);
    this.cost.push(Number.NaN);
  }
}

/** Bounds the number of requests in flight. */
export class ConcurrencyGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async enter(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  leave(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

export interface RequestPacerOptions {
  /** Sliding windows to respect (e.g. 6,000 per 5 minutes, the execution time, a daily budget). */
  windows: (SlidingWindowCounter | ExecutionTimeWindow)[];
  /** Tells the time of the windows and waits for a slot. */
  clock: Clock;
  /** A wait longer than this fails with a RateLimitedError instead of sleeping. */
  maxWaitMs: number;
}

/**
 * Paces requests to the service-protection window and the daily entitlement budget, and holds
 * every request back while a server `Retry-After` is pending.
 *
 * A request occupies a slot from the moment it is sent and is counted at the moment its answer
 * arrives: the server counted it somewhere in between, so spacing sends a full window after the
 * previous answers can never exceed the server's count, however slow the connection set-up was.
 */
export class RequestPacer {
  private pausedUntil = 0;
  private inFlight = 0;

  constructor(private readonly options: RequestPacerOptions) {}

  /** The server asked us to wait: no request leaves before `until` (clock ms). */
  pauseUntil(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
  }

  /** Wait for a slot in every window; call the returned function when the request has finished. */
  async acquire(): Promise<() => void> {
    for (;;) {
      const now = this.options.clock.now();
      let delay = Math.max(0, this.pausedUntil - now);
      for (const window of this.options.windows) delay = Math.max(delay, window.delayMs(now, this.inFlight));
      if (delay === 0) {
        this.inFlight++;
        let done = false;
        return () => {
          if (done) return;
          done = true;
          this.inFlight--;
          const finished = this.options.clock.now();
          for (const window of this.options.windows) window.record(finished);
        };
      }
      if (delay > this.options.maxWaitMs) {
        throw new RateLimitedError(
          'dynamics',
          `The Dynamics request budget is used up for the next ${Math.ceil(delay / 1000)} s (client-side pacing).`,
          { code: 'DYNAMICS_BUDGET_EXHAUSTED', retryAfterMs: delay },
        );
      }
      await sleepOn(this.options.clock, Math.min(delay, 1000));
    }
  }
}

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
 * of its window is left. The window turns that into a request count — the time used divided by the
 * requests answered in the window is the average cost of a request, so `limit / average` requests
 * fit in a window — and holds a request until one more fits, the way the request window does. A
 * change of request size (a bigger `$batch`) moves the average with the next answers.
 */
export class ExecutionTimeWindow {
  /** Answers in the window; its limit is how many requests of the average cost fit. */
  readonly answers: SlidingWindowCounter;
  private averageMs = 0;

  constructor(
    readonly limitMs: number,
    readonly windowMs: number,
  ) {
    this.answers = new SlidingWindowCounter(Number.POSITIVE_INFINITY, windowMs);
  }

  /** The server's `x-ms-ratelimit-time-remaining-xrm-requests` of an answer at `now`. */
  observe(now: number, remainingMs: number): void {
    if (!Number.isFinite(remainingMs)) return;
    const used = Math.min(this.limitMs, Math.max(0, this.limitMs - remainingMs));
    // The answer being read is not counted yet (it is recorded when it finishes): count it.
    const answered = this.answers.used(now) + 1;
    // Too few answers say little about the average; none of this matters until the window fills.
    if (answered < 3) return;
    this.averageMs = used / answered;
    this.answers.limit =
      this.averageMs > 0 ? Math.max(1, Math.floor(this.limitMs / this.averageMs)) : Number.POSITIVE_INFINITY;
  }

  /** The average execution time of a request in the window as last learnt (ms; 0 before). */
  get averageRequestMs(): number {
    return this.averageMs;
  }

  delayMs(now: number, pending = 0): number {
    return this.answers.delayMs(now, pending);
  }

  record(now: number): void {
    this.answers.record(now);
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

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

/** Requests in flight (sent, not answered yet), and the operations they carry. */
export interface InFlight {
  requests: number;
  operations: number;
}

/**
 * Paces to Dataverse's combined execution-time limit (20 minutes per 5 minutes per user), which only
 * the server can measure: each answer's `x-ms-ratelimit-time-remaining-xrm-requests` says how much
 * of its window is left.
 *
 * The window learns what an **operation** costs (a `$batch` of 120 creates is 120 operations, a
 * single request one) from **successive** remaining values: between two answers the remaining time
 * drops by what the server charged meanwhile, and rises by what left the server's window (the
 * requests this window saw leave it, at the cost learnt for them). The server charges a request
 * when it has finished it — after it wrote the header of that very answer — so the drop seen in an
 * answer is the cost of the requests answered **before** it, shared among them by their operations;
 * the answer's own request is charged by the next one. (A server that charges before the header
 * makes this count one request twice: a little too careful, never too bold.)
 *
 * A request of `n` operations is held until the time the server last said was left — plus what has
 * left the window since, minus the requests answered but not charged yet, those in flight and this
 * one, at the learnt cost of their operations, minus a margin of `marginShare` of the limit — is not
 * negative; the wait is until enough of the requests in the window leave it. The server admits a
 * request as long as its window is not full, so an estimate that counted every request at the
 * average cost let a batch larger than the average overshoot the limit, and its answers cannot say
 * by how much (the remaining time is never below 0): the next requests were refused (429).
 *
 * Nothing is derived from the configured limit, so a tenant whose real limit is lower (or higher)
 * than configured is paced by what its server says; the configured limit only caps the estimate.
 */
export class ExecutionTimeWindow {
  /** When each answer in the window arrived, its operations and what it cost (NaN: not learnt). */
  private at: number[] = [];
  private operations: number[] = [];
  private cost: number[] = [];
  private head = 0;
  /** Index of the first answer not charged in an observation yet. */
  private unobservedFrom = 0;
  /** Sum of the learnt costs in the window, and of the operations they were learnt for. */
  private costSum = 0;
  private costOperations = 0;
  /** Learnt cost of the answers that left the window since the last observation. */
  private expiredMs = 0;
  /** A drop in remaining time seen with no answer to charge it to since the observation before. */
  private carriedMs = 0;
  private lastRemaining: number | null = null;
  private lastObservedAt = 0;
  private observations = 0;
  /** Execution time kept free (`marginShare` of the limit). */
  readonly marginMs: number;

  constructor(
    readonly limitMs: number,
    readonly windowMs: number,
    /** Share of the limit kept free for what the estimate cannot know (the cost of one batch varies). @default 0.01 */
    marginShare = 0.01,
  ) {
    this.marginMs = Math.max(0, marginShare) * limitMs;
  }

  private prune(now: number): void {
    const from = now - this.windowMs;
    while (this.head < this.at.length && (this.at[this.head] as number) <= from) {
      const cost = this.cost[this.head] as number;
      if (!Number.isNaN(cost)) {
        this.costSum -= cost;
        this.costOperations -= this.operations[this.head] as number;
        this.expiredMs += cost;
      }
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.at.length) {
      this.at = this.at.slice(this.head);
      this.operations = this.operations.slice(this.head);
      this.cost = this.cost.slice(this.head);
      this.unobservedFrom = Math.max(0, this.unobservedFrom - this.head);
      this.head = 0;
    }
  }

  /**
   * Charge the drop in remaining time since the last observation to the answers from
   * `unobservedFrom` up to (not including) `upTo`, by their operations.
   */
  private observe(now: number, remainingMs: number, upTo: number): void {
    const from = Math.max(this.head, this.unobservedFrom);
    let operations = 0;
    for (let i = from; i < upTo; i++) operations += this.operations[i] as number;
    if (this.lastRemaining !== null) {
      // Charged since the last answer = the drop in remaining time + what left the window since.
      const charged = Math.max(0, this.lastRemaining - remainingMs + this.expiredMs) + this.carriedMs;
      if (operations === 0) this.carriedMs = charged;
      else {
        this.carriedMs = 0;
        for (let i = from; i < upTo; i++) {
          this.cost[i] = (charged * (this.operations[i] as number)) / operations;
        }
        this.costSum += charged;
        this.costOperations += operations;
      }
    }
    // (Before the first answer there is no baseline: the answers until then stay unlearnt.)
    this.unobservedFrom = upTo;
    this.expiredMs = 0;
    this.lastRemaining = remainingMs;
    this.lastObservedAt = now;
    this.observations++;
  }

  /** The execution time of one operation as last learnt (ms; 0 before). */
  get operationMs(): number {
    return this.costOperations > 0 ? this.costSum / this.costOperations : 0;
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

  /** Milliseconds until a request of `operations` fits (0 when it fits now), with `inFlight` sent. */
  delayMs(now: number, inFlight: InFlight = { requests: 0, operations: 0 }, operations = 1): number {
    this.prune(now);
    const operationMs = this.operationMs;
    // Too few answers say little about the cost; none of this matters until the window fills.
    if (this.lastRemaining === null || this.observations < 3 || operationMs <= 0) return 0;
    let unobserved = 0;
    for (let i = Math.max(this.head, this.unobservedFrom); i < this.at.length; i++)
      unobserved += this.operations[i] as number;
    const needed = (unobserved + inFlight.operations + Math.max(1, operations)) * operationMs + this.marginMs;
    const free = Math.min(this.limitMs, this.lastRemaining + this.expiredMs);
    if (free >= needed) return 0;
    let missing = needed - free;
    for (let i = this.head; i < this.at.length; i++) {
      const cost = this.cost[i] as number;
      if (Number.isNaN(cost)) continue;
      missing -= cost;
      if (missing <= 0) return (this.at[i] as number) + this.windowMs - now + 1;
    }
    // What the window knows cannot free enough (others' requests, answers not learnt): everything
    // charged before the last answer has left the server's window a window later.
    const wait = this.lastObservedAt + this.windowMs - now + 1;
    return wait > 0 ? wait : 0;
  }

  /**
   * A request of `operations` was answered at `now`, with the server's remaining time in its
   * header when it had one (a refused request counts 0 operations: the server did not run it).
   */
  record(now: number, operations = 1, remainingMs?: number): void {
    this.prune(now);
    const observed = remainingMs !== undefined && Number.isFinite(remainingMs);
    this.at.push(now);
    this.operations.push(Math.max(0, operations));
    this.cost.push(Number.NaN);
    // This answer's own cost is charged after its header: the next observation learns it.
    if (observed) this.observe(now, remainingMs, this.at.length - 1);
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

/** How a paced request ended, for the execution-time window. */
export interface PacedAnswer {
  /** The answer's `x-ms-ratelimit-time-remaining-xrm-requests` (ms), when it had one. */
  remainingMs?: number;
  /** The server refused the request without running it (429): it cost nothing. */
  refused?: boolean;
}

/**
 * Paces requests to the service-protection window and the daily entitlement budget, and holds
 * every request back while a server `Retry-After` is pending.
 *
 * A request occupies a slot from the moment it is sent and is counted at the moment its answer
 * arrives: the server counted it somewhere in between, so spacing sends a full window after the
 * previous answers can never exceed the server's count, however slow the connection set-up was.
 * A request says how many operations it carries (the parts of a `$batch`), so that the execution
 * time it will cost is estimated from its size, not from the average request's.
 */
export class RequestPacer {
  private pausedUntil = 0;
  private readonly inFlight: InFlight = { requests: 0, operations: 0 };

  constructor(private readonly options: RequestPacerOptions) {}

  /** The server asked us to wait: no request leaves before `until` (clock ms). */
  pauseUntil(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
  }

  /**
   * Wait for a slot in every window for a request of `operations`; call the returned function
   * when the request has finished, with what its answer said.
   */
  async acquire(operations = 1): Promise<(answer?: PacedAnswer) => void> {
    const weight = Math.max(1, Math.floor(operations));
    for (;;) {
      const now = this.options.clock.now();
      let delay = Math.max(0, this.pausedUntil - now);
      for (const window of this.options.windows) {
        const wait =
          window instanceof ExecutionTimeWindow
            ? window.delayMs(now, this.inFlight, weight)
            : window.delayMs(now, this.inFlight.requests);
        delay = Math.max(delay, wait);
      }
      if (delay === 0) {
        this.inFlight.requests++;
        this.inFlight.operations += weight;
        let done = false;
        return (answer: PacedAnswer = {}) => {
          if (done) return;
          done = true;
          this.inFlight.requests--;
          this.inFlight.operations -= weight;
          const finished = this.options.clock.now();
          for (const window of this.options.windows) {
            if (window instanceof ExecutionTimeWindow)
              window.record(finished, answer.refused ? 0 : weight, answer.remainingMs);
            else window.record(finished);
          }
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

import type { EmulatorClock } from '../../shared/emulator-clock.js';
import { dataverseErrorCodes } from '../dataverse-error.js';

/** Dataverse service-protection limits (per user, per web server); the real numbers by default. */
export interface ServiceProtectionLimits {
  /** Requests allowed in the sliding window. @default 6000 */
  requests: number;
  /** Combined execution time allowed in the window, in ms. @default 1_200_000 */
  executionTimeMs: number;
  /** Sliding window length, in ms. @default 300_000 */
  windowMs: number;
  /** Concurrent requests; exceeding it fails immediately. @default 52 */
  concurrency: number;
  /**
   * Share by which the request and execution-time limits may be exceeded before enforcement
   * ("may be exceeded somewhat" in the docs). @default 0
   */
  enforcementSlack: number;
  /** Longest Retry-After handed out when a client keeps hammering, in seconds. @default 300 */
  maxRetryAfterSec: number;
  /** Send `x-ms-ratelimit-*` diagnostic headers. @default true */
  diagnosticHeaders: boolean;
  /** Value of the `x-ms-dop-hint` header (recommended parallelism); 0 omits it. @default 4 */
  dopHint: number;
  /** Count each request inside a `$batch` against the request limit (not only the batch). @default false */
  countBatchParts: boolean;
  /**
   * Execution time charged per write (create, update, delete; each write inside a `$batch`), in ms,
   * on top of the time the emulator really spends — so a benchmark can make the execution-time
   * limit bind the way real plug-ins and indexes would. @default 0
   */
  writeExecutionMs: number;
}

export const defaultServiceProtectionLimits: ServiceProtectionLimits = {
  requests: 6000,
  executionTimeMs: 1_200_000,
  windowMs: 300_000,
  concurrency: 52,
  enforcementSlack: 0,
  maxRetryAfterSec: 300,
  diagnosticHeaders: true,
  dopHint: 4,
  countBatchParts: false,
  writeExecutionMs: 0,
};

export type ThrottleDecision =
  | { ok: true; release: (executionMs: number) => void }
  | { ok: false; code: string; message: string; retryAfterSec: number };

interface UserWindow {
  starts: number[];
  startsHead: number;
  executions: { at: number; ms: number }[];
  executionsHead: number;
  executionSum: number;
  inFlight: number;
  /** The client was told not to come back before this instant. */
  penaltyUntil: number;
  /** Requests that arrived before `penaltyUntil` since the last admitted one. */
  strikes: number;
  lastCode: string;
}

const formatNumber = (n: number): string => n.toLocaleString('en-US');

/**
 * Per-user sliding windows for the three service-protection facets. A rejected request does not
 * count against the window; a client that comes back before its Retry-After gets a longer one.
 */
export class ServiceProtectionLimiter {
  private limits: ServiceProtectionLimits;
  private readonly users = new Map<string, UserWindow>();
  private forced: { remaining: number; retryAfterSec: number; code: string } | null = null;

  constructor(
    limits: Partial<ServiceProtectionLimits>,
    private readonly clock: EmulatorClock,
  ) {
    this.limits = { ...defaultServiceProtectionLimits, ...limits };
  }

  configure(patch: Partial<ServiceProtectionLimits>): ServiceProtectionLimits {
    this.limits = { ...this.limits, ...patch };
    return this.current();
  }

  current(): ServiceProtectionLimits {
    return { ...this.limits };
  }

  reset(): void {
    this.users.clear();
    this.forced = null;
  }

  /** Answer the next `count` API requests with 429 (a "429 burst" fault). */
  forceThrottle(
    count: number,
    retryAfterSec: number,
    code: string = dataverseErrorCodes.throttleRequests,
  ): void {
    this.forced = count > 0 ? { remaining: count, retryAfterSec, code } : null;
  }

  private window(userId: string): UserWindow {
    let w = this.users.get(userId);
    if (!w) {
      w = {
        starts: [],
        startsHead: 0,
        executions: [],
        executionsHead: 0,
        executionSum: 0,
        inFlight: 0,
        penaltyUntil: 0,
        strikes: 0,
        lastCode: dataverseErrorCodes.throttleRequests,
      };
      this.users.set(userId, w);
    }
    return w;
  }

  private prune(w: UserWindow, now: number): void {
    const from = now - this.limits.windowMs;
    while (w.startsHead < w.starts.length && (w.starts[w.startsHead] as number) <= from) w.startsHead++;
    while (w.executionsHead < w.executions.length) {
      const entry = w.executions[w.executionsHead] as { at: number; ms: number };
      if (entry.at > from) break;
      w.executionSum -= entry.ms;
      w.executionsHead++;
    }
    if (w.startsHead > 1024 && w.startsHead * 2 > w.starts.length) {
      w.starts = w.starts.slice(w.startsHead);
      w.startsHead = 0;
    }
    if (w.executionsHead > 1024 && w.executionsHead * 2 > w.executions.length) {
      w.executions = w.executions.slice(w.executionsHead);
      w.executionsHead = 0;
    }
  }

  private message(code: string): string {
    const windowSec = Math.round(this.limits.windowMs / 1000);
    if (code === dataverseErrorCodes.throttleExecutionTime) {
      return `Combined execution time of incoming requests exceeded limit of ${formatNumber(this.limits.executionTimeMs)} milliseconds over time window of ${windowSec} seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.`;
    }
    if (code === dataverseErrorCodes.throttleConcurrency) {
      return `Number of concurrent requests exceeded the limit of ${this.limits.concurrency}.`;
    }
    return `Number of requests exceeded the limit of ${this.limits.requests} over time window of ${windowSec} seconds.`;
  }

  private reject(w: UserWindow, code: string, waitMs: number, now: number): ThrottleDecision {
    const retryAfterSec = Math.min(this.limits.maxRetryAfterSec, Math.max(1, Math.ceil(waitMs / 1000)));
    w.penaltyUntil = Math.max(w.penaltyUntil, now + retryAfterSec * 1000);
    w.lastCode = code;
    return { ok: false, code, message: this.message(code), retryAfterSec };
  }

  /**
   * Decide whether a request by `userId` may run. `weight` is how many requests it counts as
   * (a `$batch` with `countBatchParts`).
   */
  admit(userId: string, weight = 1): ThrottleDecision {
    const now = this.clock.now();
    const w = this.window(userId);
    this.prune(w, now);
    if (this.forced && this.forced.remaining > 0) {
      this.forced.remaining--;
      const { code, retryAfterSec } = this.forced;
      if (this.forced.remaining === 0) this.forced = null;
      return { ok: false, code, message: this.message(code), retryAfterSec };
    }
    if (w.inFlight >= this.limits.concurrency) {
      return {
        ok: false,
        code: dataverseErrorCodes.throttleConcurrency,
        message: this.message(dataverseErrorCodes.throttleConcurrency),
        retryAfterSec: 1,
      };
    }
    if (now < w.penaltyUntil) {
      // Came back too early: the wait grows with every early request.
      w.strikes++;
      const grown = (w.penaltyUntil - now) * 2 ** Math.min(w.strikes, 8);
      return this.reject(w, w.lastCode, grown, now);
    }
    const slack = 1 + this.limits.enforcementSlack;
    const count = w.starts.length - w.startsHead;
    if (count + weight > this.limits.requests * slack) {
      const oldest = w.starts[w.startsHead] ?? now;
      return this.reject(w, dataverseErrorCodes.throttleRequests, oldest + this.limits.windowMs - now, now);
    }
    if (w.executionSum >= this.limits.executionTimeMs * slack) {
      let excess = w.executionSum - this.limits.executionTimeMs * slack;
      let wait = 0;
      for (let i = w.executionsHead; i < w.executions.length && excess >= 0; i++) {
        const entry = w.executions[i] as { at: number; ms: number };
        excess -= entry.ms;
        wait = entry.at + this.limits.windowMs - now;
      }
      return this.reject(w, dataverseErrorCodes.throttleExecutionTime, wait, now);
    }
    w.strikes = 0;
    for (let i = 0; i < weight; i++) w.starts.push(now);
    w.inFlight++;
    let released = false;
    return {
      ok: true,
      release: (executionMs: number) => {
        if (released) return;
        released = true;
        w.inFlight--;
        w.executions.push({ at: this.clock.now(), ms: executionMs });
        w.executionSum += executionMs;
      },
    };
  }

  /** Diagnostic and hint headers for a response to `userId`. */
  headers(userId: string): Record<string, string> {
    const headers: Record<string, string> = {};
    if (this.limits.dopHint > 0) headers['x-ms-dop-hint'] = String(this.limits.dopHint);
    if (!this.limits.diagnosticHeaders) return headers;
    const w = this.window(userId);
    this.prune(w, this.clock.now());
    headers['x-ms-ratelimit-burst-remaining-xrm-requests'] = String(
      Math.max(0, this.limits.requests - (w.starts.length - w.startsHead)),
    );
    headers['x-ms-ratelimit-time-remaining-xrm-requests'] = Math.max(
      0,
      this.limits.executionTimeMs - w.executionSum,
    ).toFixed(2);
    return headers;
  }
}

/**
 * Time is injected everywhere (leases, backoff, pacing, daily files, token expiry) so tests control
 * it without sleeping. A clock tells the time and, optionally, waits on it: a client that backs off
 * or paces on an injected {@link ManualClock} waits until the test moves that clock on.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /**
   * Resolve once `ms` milliseconds have passed on this clock (at once for `ms` ≤ 0); reject with
   * the signal's reason when it aborts first. A clock without it waits on real timers: see
   * {@link sleepOn}.
   */
  sleep?(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Wait `ms` on real timers; rejects with the signal's reason when it aborts first. */
function sleepOnTimers(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('aborted');
}

/** The real wall clock, waiting on real timers. */
export const systemClock: Clock = { now: () => Date.now(), sleep: sleepOnTimers };

/**
 * Wait `ms` on `clock`: its own {@link Clock.sleep} when it has one, real timers otherwise (a clock
 * that only shifts the wall clock, e.g. `{ now: () => Date.now() + offset }`).
 */
export function sleepOn(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return clock.sleep ? clock.sleep(ms, signal) : sleepOnTimers(ms, signal);
}

/** ISO-8601 in UTC (`2026-01-01T00:00:00.000Z`) of a clock value, for messages and output. */
export function formatIso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The UTC day (`2026-01-01`) of a clock value. */
export function formatUtcDay(ms: number): string {
  return formatIso(ms).slice(0, 10);
}

interface Sleeper {
  wakeAt: number;
  resolve: () => void;
}

/**
 * A clock that only moves when told to; for tests and deterministic emulators. Its sleeps wake
 * when {@link advance} or {@link set} moves time to (or past) their end, never on their own.
 */
export class ManualClock implements Clock {
  private current: number;
  private sleepers: Sleeper[] = [];

  constructor(start: number = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  /** Move forward by `ms` milliseconds, waking the sleeps that end by then. */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('ManualClock cannot move backwards');
    this.current += ms;
    this.wake();
  }

  set(ms: number): void {
    this.current = ms;
    this.wake();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const sleeper: Sleeper = {
        wakeAt: this.current + ms,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(abortReason(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.push(sleeper);
    });
  }

  /** Sleeps still waiting for the clock to move (a test checks a client is waiting before it advances). */
  get sleeping(): number {
    return this.sleepers.length;
  }

  private wake(): void {
    const due = this.sleepers.filter((s) => s.wakeAt <= this.current);
    if (due.length === 0) return;
    this.sleepers = this.sleepers.filter((s) => s.wakeAt > this.current);
    for (const sleeper of due) sleeper.resolve();
  }
}

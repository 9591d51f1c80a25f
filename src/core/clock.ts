/**
 * Time is injected everywhere (leases, backoff, daily files, token expiry) so tests control it
 * without sleeping.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The real wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to; for tests and deterministic emulators. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: number = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  /** Move forward by `ms` milliseconds. */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('ManualClock cannot move backwards');
    this.current += ms;
  }

  set(ms: number): void {
    this.current = ms;
  }
}

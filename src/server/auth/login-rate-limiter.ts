import type { Clock } from '../../core/clock.js';

/**
 * Failed sign-ins per client address in a sliding one-minute window, so the admin token cannot be
 * guessed at speed. Only failures count: a process that signs in with the right token, however
 * often, never locks the operator out; a success clears the address's failures.
 */
export class LoginRateLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly clock: Clock,
    private readonly failuresPerMinute: number,
  ) {}

  /** Ms to wait before this address may try again (it failed too often this minute), else 0. */
  waitMs(address: string): number {
    const now = this.clock.now();
    const recent = this.recent(address, now);
    if (recent.length < this.failuresPerMinute) return 0;
    return Math.max(1, recent[0]! + 60_000 - now);
  }

  recordFailure(address: string): void {
    const now = this.clock.now();
    const recent = this.recent(address, now);
    recent.push(now);
    this.failures.set(address, recent);
    if (this.failures.size > 10_000) this.prune(now - 60_000);
  }

  recordSuccess(address: string): void {
    this.failures.delete(address);
  }

  private recent(address: string, now: number): number[] {
    const since = now - 60_000;
    return (this.failures.get(address) ?? []).filter((at) => at > since);
  }

  private prune(since: number): void {
    for (const [address, times] of this.failures)
      if (times.every((at) => at <= since)) this.failures.delete(address);
  }
}

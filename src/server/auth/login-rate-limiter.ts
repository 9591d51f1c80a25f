import type { Clock } from '../../core/clock.js';

/**
 * Sliding one-minute window of login attempts per client address (successful ones count too), so
 * the admin token cannot be guessed at speed.
 */
export class LoginRateLimiter {
  private readonly attempts = new Map<string, number[]>();

  constructor(
    private readonly clock: Clock,
    private readonly perMinute: number,
  ) {}

  /** Record an attempt; returns ms to wait when over the limit (the attempt is refused), else 0. */
  take(address: string): number {
    const now = this.clock.now();
    const since = now - 60_000;
    const recent = (this.attempts.get(address) ?? []).filter((at) => at > since);
    if (recent.length >= this.perMinute) {
      this.attempts.set(address, recent);
      return Math.max(1, recent[0]! + 60_000 - now);
    }
    recent.push(now);
    this.attempts.set(address, recent);
    if (this.attempts.size > 10_000) this.prune(since);
    return 0;
  }

  private prune(since: number): void {
    for (const [address, times] of this.attempts)
      if (times.every((at) => at <= since)) this.attempts.delete(address);
  }
}

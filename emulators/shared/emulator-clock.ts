/**
 * An emulator's notion of "now": real time plus an offset that the admin API can move forward,
 * or frozen at a fixed instant for deterministic tests.
 */
export class EmulatorClock {
  private offsetMs = 0;
  private frozenAt: number | null = null;

  now(): number {
    return this.frozenAt ?? Date.now() + this.offsetMs;
  }

  /** Move emulated time forward. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('advance needs a non-negative number of ms');
    if (this.frozenAt !== null) this.frozenAt += ms;
    else this.offsetMs += ms;
  }

  /** Freeze time at `at` (ms since epoch), or at the current emulated time. */
  freeze(at?: number): void {
    this.frozenAt = at ?? this.now();
  }

  /** Let time run again from the current emulated instant. */
  unfreeze(): void {
    if (this.frozenAt === null) return;
    this.offsetMs = this.frozenAt - Date.now();
    this.frozenAt = null;
  }

  state(): { now: string; frozen: boolean; offsetMs: number } {
    return {
      now: new Date(this.now()).toISOString(),
      frozen: this.frozenAt !== null,
      offsetMs: this.offsetMs,
    };
  }
}

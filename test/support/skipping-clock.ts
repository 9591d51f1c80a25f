import { ManualClock } from '../../src/core/clock.js';

/** Anything whose time can be moved on, e.g. an emulator's clock (`emulator.admin.clock`). */
export interface AdvanceableClock {
  advance(ms: number): void;
}

/**
 * A {@link ManualClock} that skips time: a sleep moves it on by its length at once (and yields
 * to I/O), so a client's backoff and pacing cost no real time and the time it waited can be read
 * off the clock. Clocks that follow it (an emulator's) move on by the same amounts, so both sides
 * agree on how much time passed.
 */
export class SkippingClock extends ManualClock {
  constructor(
    start: number = Date.now(),
    private readonly followers: readonly AdvanceableClock[] = [],
  ) {
    super(start);
  }

  override advance(ms: number): void {
    super.advance(ms);
    for (const follower of this.followers) follower.advance(ms);
  }

  override async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (ms > 0) this.advance(ms);
    // A macrotask turn: a loop that sleeps until an answer arrives must let the answer in.
    await new Promise((resolve) => setImmediate(resolve));
    signal?.throwIfAborted();
  }
}

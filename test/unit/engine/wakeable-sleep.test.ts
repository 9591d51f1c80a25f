import { describe, expect, it } from 'vitest';
import { WakeableSleep } from '../../../src/engine/wakeable-sleep.js';

/** Whether `promise` has settled after the pending microtasks ran. */
async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('WakeableSleep', () => {
  it('ends a sleep when woken, long before its timer', async () => {
    const idle = new WakeableSleep();
    const sleeping = idle.sleep(3_600_000);
    expect(await settled(sleeping)).toBe(false);
    idle.wake();
    expect(await settled(sleeping)).toBe(true);
  });

  it('forgets a wake that came while awake, unless told to remember it', async () => {
    const forgetful = new WakeableSleep();
    forgetful.wake();
    const first = forgetful.sleep(3_600_000);
    expect(await settled(first)).toBe(false);
    forgetful.wake();
    await first;

    const remembering = new WakeableSleep({ rememberWake: true });
    remembering.wake();
    expect(await settled(remembering.sleep(3_600_000))).toBe(true);
    // Remembered once: the next sleep waits again.
    const next = remembering.sleep(3_600_000);
    expect(await settled(next)).toBe(false);
    remembering.wake();
    await next;
  });
});

import { describe, expect, it } from 'vitest';
import { EmulatorClock } from '../../../emulators/shared/emulator-clock.js';
import { ServiceProtectionLimiter } from '../../../emulators/dynamics/limits/service-protection-limiter.js';

function frozenClock(): EmulatorClock {
  const clock = new EmulatorClock();
  clock.freeze(Date.UTC(2026, 0, 1));
  return clock;
}

describe('ServiceProtectionLimiter', () => {
  it('fails the request over the concurrency limit immediately with 0x80072326', () => {
    const limiter = new ServiceProtectionLimiter({ concurrency: 2 }, frozenClock());
    const first = limiter.admit('user');
    const second = limiter.admit('user');
    const third = limiter.admit('user');
    expect(third).toEqual({
      ok: false,
      code: '0x80072326',
      message: 'Number of concurrent requests exceeded the limit of 2.',
      retryAfterSec: 1,
    });
    if (first.ok) first.release(10);
    expect(limiter.admit('user').ok).toBe(true);
    expect(second.ok).toBe(true);
  });

  it('throttles on combined execution time with 0x80072321 until it leaves the window', () => {
    const clock = frozenClock();
    const limiter = new ServiceProtectionLimiter({ executionTimeMs: 1000, windowMs: 10_000 }, clock);
    const slow = limiter.admit('user');
    if (slow.ok) slow.release(1200);
    const refused = limiter.admit('user');
    expect(refused).toMatchObject({ ok: false, code: '0x80072321', retryAfterSec: 10 });
    clock.advance(10_001);
    expect(limiter.admit('user').ok).toBe(true);
  });

  it('keeps users apart and lets a client that waits its Retry-After back in', () => {
    const clock = frozenClock();
    const limiter = new ServiceProtectionLimiter({ requests: 2, windowMs: 5000 }, clock);
    limiter.admit('a');
    clock.advance(1000);
    limiter.admit('a');
    const refused = limiter.admit('a');
    expect(refused).toMatchObject({ ok: false, code: '0x80072322', retryAfterSec: 4 });
    expect(limiter.admit('b').ok).toBe(true);
    clock.advance(4000);
    expect(limiter.admit('a').ok).toBe(true);
  });
});

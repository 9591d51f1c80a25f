import { describe, expect, it } from 'vitest';
import { ManualClock, formatIso, formatUtcDay, sleepOn, systemClock } from '../../../src/core/clock.js';

describe('ManualClock', () => {
  it('wakes a sleep only when advanced to its end, in order', async () => {
    const clock = new ManualClock(0);
    const woken: string[] = [];
    const short = clock.sleep(100).then(() => woken.push('short'));
    const long = clock.sleep(300).then(() => woken.push('long'));
    expect(clock.sleeping).toBe(2);
    clock.advance(99);
    await Promise.resolve();
    expect(woken).toEqual([]);
    clock.advance(1);
    await short;
    expect(woken).toEqual(['short']);
    clock.set(1000);
    await long;
    expect(woken).toEqual(['short', 'long']);
    expect(clock.sleeping).toBe(0);
  });

  it('resolves a sleep of no time at once, and rejects an aborted sleep with its reason', async () => {
    const clock = new ManualClock(0);
    await clock.sleep(0);
    const controller = new AbortController();
    const sleeping = clock.sleep(1000, controller.signal);
    controller.abort(new Error('stopped'));
    await expect(sleeping).rejects.toThrow('stopped');
    expect(clock.sleeping).toBe(0);
    await expect(clock.sleep(10, controller.signal)).rejects.toThrow('stopped');
  });

  it('refuses to move backwards with advance', () => {
    expect(() => new ManualClock(0).advance(-1)).toThrow(RangeError);
  });
});

describe('sleepOn', () => {
  it('uses the clock’s own sleep, and real timers for a clock without one', async () => {
    const manual = new ManualClock(0);
    const waiting = sleepOn(manual, 50);
    expect(manual.sleeping).toBe(1);
    manual.advance(50);
    await waiting;
    const shifted = { now: () => systemClock.now() + 1000 };
    await expect(sleepOn(shifted, 1)).resolves.toBeUndefined();
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(sleepOn(systemClock, 10, controller.signal)).rejects.toThrow('gone');
  });
});

describe('formatting clock values', () => {
  it('gives ISO-8601 and the UTC day', () => {
    const ms = Date.UTC(2026, 2, 4, 23, 59, 59, 5);
    expect(formatIso(ms)).toBe('2026-03-04T23:59:59.005Z');
    expect(formatUtcDay(ms)).toBe('2026-03-04');
  });
});

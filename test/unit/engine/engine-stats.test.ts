/**
 * The engine's in-process counters on a clock the test moves: lag percentiles cover only what was
 * applied recently, so the dashboard's lag tile goes blank when the flows are idle instead of
 * showing the last figures for as long as nothing happens.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { EngineStats, lagWindowMs } from '../../../src/engine/engine-stats.js';

describe('EngineStats lag', () => {
  it('is null before anything was applied', () => {
    expect(new EngineStats(new ManualClock()).lagPercentiles()).toBeNull();
  });

  it('covers the records applied in the window and forgets older ones', () => {
    const clock = new ManualClock();
    const stats = new EngineStats(clock);
    for (let i = 0; i < 100; i++) stats.record('contacts', 'created', 5, 30_000);
    expect(stats.lagPercentiles()).toEqual({ p50: 30_000, p99: 30_000 });

    // Eight idle minutes: the 30 s lag is history, not the lag now.
    clock.advance(8 * 60_000);
    expect(stats.lagPercentiles()).toBeNull();

    stats.record('contacts', 'updated', 5, 200);
    expect(stats.lagPercentiles()).toEqual({ p50: 200, p99: 200 });
  });

  it('keeps the samples of the last window only, at its edge included', () => {
    const clock = new ManualClock();
    const stats = new EngineStats(clock);
    stats.record('contacts', 'created', 5, 9_000);
    clock.advance(lagWindowMs / 2);
    stats.record('contacts', 'created', 5, 1_000);
    clock.advance(lagWindowMs / 2);
    // The first sample is exactly one window old: still in.
    expect(stats.lagPercentiles()).toEqual({ p50: 9_000, p99: 9_000 });
    clock.advance(1);
    expect(stats.lagPercentiles()).toEqual({ p50: 1_000, p99: 1_000 });
  });

  it('does not count parked or retried items as lag', () => {
    const clock = new ManualClock();
    const stats = new EngineStats(clock);
    stats.record('memberships', 'parked', 5, 50_000);
    stats.record('memberships', 'retried', 5, 50_000);
    expect(stats.lagPercentiles()).toBeNull();
  });
});

/**
 * The `health` config section sets the health monitor's timing: its defaults are the production
 * hysteresis (a storm holds a minute before it pages and ends after two calm minutes), and shorter
 * values reach every storm kind — and only those.
 */
import { describe, expect, it } from 'vitest';
import { healthSchema } from '../../../src/config/config-schema.js';
import { defaultHealthSettings } from '../../../src/engine/health/health-assessment.js';
import { defaultHealthHysteresis } from '../../../src/engine/health/health-tracker.js';
import { healthMonitorTiming } from '../../../src/server/operator-server.js';
import { demoHealthSettings } from '../../../src/cli/commands/demo-command.js';

describe('health monitor timing from the config', () => {
  it('defaults to the production interval, hysteresis and thresholds', () => {
    const timing = healthMonitorTiming(healthSchema.parse(undefined));
    expect(timing.intervalMs).toBe(10_000);
    expect(timing.settings).toEqual({
      troubleWindowMs: defaultHealthSettings.troubleWindowMs,
      retryingAfterMs: defaultHealthSettings.retryingAfterMs,
    });
    expect({
      ...defaultHealthHysteresis.enterAfterMs,
      ...timing.hysteresis.enterAfterMs,
    }).toEqual(defaultHealthHysteresis.enterAfterMs);
    expect({
      ...defaultHealthHysteresis.leaveAfterMs,
      ...timing.hysteresis.leaveAfterMs,
    }).toEqual(defaultHealthHysteresis.leaveAfterMs);
  });

  it('gives every storm kind the configured enter and leave times, and no other kind', () => {
    const timing = healthMonitorTiming(
      healthSchema.parse({
        checkIntervalMs: 500,
        stormEnterAfterMs: 1000,
        stormLeaveAfterMs: 2000,
        campaignTroubleWindowMs: 3000,
        retryingAfterMs: 4000,
      }),
    );
    expect(timing.intervalMs).toBe(500);
    expect(timing.settings).toEqual({ troubleWindowMs: 3000, retryingAfterMs: 4000 });
    expect(timing.hysteresis.enterAfterMs).toEqual({
      'campaign-throttled': 1000,
      'campaign-failing': 1000,
      'campaign-rate-cut': 1000,
    });
    expect(timing.hysteresis.leaveAfterMs).toEqual({
      'changes-retrying': 2000,
      'campaign-throttled': 2000,
      'campaign-failing': 2000,
      'campaign-rate-cut': 2000,
      'backlog-growing': 2000,
    });
  });

  it('refuses unknown keys and nonsense values', () => {
    expect(healthSchema.safeParse({ checkIntervalMs: 0 }).success).toBe(false);
    expect(healthSchema.safeParse({ stormEnterAfterMs: -1 }).success).toBe(false);
    expect(healthSchema.safeParse({ stormEnterMs: 1000 }).success).toBe(false);
  });
});

describe('the demo health settings (DCSYNC_DEMO_HEALTH)', () => {
  it('are none without the variable, the object with it, and a config error otherwise', () => {
    expect(demoHealthSettings({})).toBeUndefined();
    expect(demoHealthSettings({ DCSYNC_DEMO_HEALTH: '{"checkIntervalMs":500}' })).toEqual({
      checkIntervalMs: 500,
    });
    for (const bad of ['500', '[1]', '{nope', 'null'])
      expect(() => demoHealthSettings({ DCSYNC_DEMO_HEALTH: bad }), bad).toThrow(
        /DCSYNC_DEMO_HEALTH must be a JSON object/,
      );
  });
});

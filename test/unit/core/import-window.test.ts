import { describe, expect, it } from 'vitest';
import {
  insideWindow,
  isKnownTimeZone,
  localTimeOfDay,
  nextWindowStart,
  parseTimeOfDay,
} from '../../../src/core/import-window.js';
import { flowsSchema } from '../../../src/config/config-schema.js';

const night = { from: '22:00', to: '06:00', timeZone: 'Europe/Paris' };
const utc = (iso: string): number => Date.parse(iso);

describe('import window (flows.*.bulk.schedule)', () => {
  it('crosses midnight in the zone’s local time (Paris is UTC+1 in winter, UTC+2 in summer)', () => {
    // 21:30 Paris (winter): closed; opens at 22:00 Paris = 21:00 UTC.
    expect(insideWindow(night, utc('2026-01-15T20:30:00Z'))).toBe(false);
    expect(nextWindowStart(night, utc('2026-01-15T20:30:00Z'))).toBe(utc('2026-01-15T21:00:00Z'));
    // 23:00 and 03:00 Paris: open; 06:00 Paris: closed again.
    expect(insideWindow(night, utc('2026-01-15T22:00:00Z'))).toBe(true);
    expect(insideWindow(night, utc('2026-01-16T02:00:00Z'))).toBe(true);
    expect(insideWindow(night, utc('2026-01-16T04:59:59Z'))).toBe(true);
    expect(insideWindow(night, utc('2026-01-16T05:00:00Z'))).toBe(false);
    // Open now: the next start is now.
    const open = utc('2026-01-16T02:00:00Z');
    expect(nextWindowStart(night, open)).toBe(open);
    // Summer: 22:00 Paris = 20:00 UTC.
    expect(nextWindowStart(night, utc('2026-07-01T10:00:00Z'))).toBe(utc('2026-07-01T20:00:00Z'));
  });

  it('follows daylight-saving changes between now and the opening', () => {
    // Paris moves to summer time on 2026-03-29 at 02:00 local. From 10:00 UTC on the 28th, the
    // next 22:00 Paris is 21:00 UTC (still winter); from the 29th, 20:00 UTC.
    expect(nextWindowStart(night, utc('2026-03-28T10:00:00Z'))).toBe(utc('2026-03-28T21:00:00Z'));
    expect(nextWindowStart(night, utc('2026-03-29T10:00:00Z'))).toBe(utc('2026-03-29T20:00:00Z'));
    // A window opening at a local time the change skips (02:30 on 2026-03-29) opens right after the gap.
    const skipped = { from: '02:30', to: '04:00', timeZone: 'Europe/Paris' };
    expect(nextWindowStart(skipped, utc('2026-03-28T23:00:00Z'))).toBe(utc('2026-03-29T01:00:00Z'));
    expect(localTimeOfDay('Europe/Paris', utc('2026-03-29T01:00:00Z'))).toBe(3 * 3600_000);
  });

  it('a window within a day, in UTC', () => {
    const day = { from: '09:15', to: '17:45', timeZone: 'UTC' };
    expect(insideWindow(day, utc('2026-05-05T09:14:59Z'))).toBe(false);
    expect(insideWindow(day, utc('2026-05-05T09:15:00Z'))).toBe(true);
    expect(insideWindow(day, utc('2026-05-05T17:45:00Z'))).toBe(false);
    expect(nextWindowStart(day, utc('2026-05-05T18:00:00Z'))).toBe(utc('2026-05-06T09:15:00Z'));
  });

  it('parses HH:MM and knows IANA zones', () => {
    expect(parseTimeOfDay('06:00')).toBe(6 * 3600_000);
    expect(parseTimeOfDay('24:00')).toBeNull();
    expect(parseTimeOfDay('6:00')).toBeNull();
    expect(isKnownTimeZone('Europe/Paris')).toBe(true);
    expect(isKnownTimeZone('UTC')).toBe(true);
    expect(isKnownTimeZone('Europe/Pariss')).toBe(false);
  });

  it('is validated in the configuration with a clear error naming where', () => {
    const bulk = (schedule: unknown) =>
      flowsSchema.shape.contacts.safeParse({
        mapping: { firstname: 'firstName' },
        bulk: { workflowId: 'WKF_BULK', schedule },
      });
    expect(bulk(night).success).toBe(true);
    const zone = bulk({ ...night, timeZone: 'Mars/Olympus' });
    expect(zone.success).toBe(false);
    expect(zone.error?.issues[0]?.path).toEqual(['bulk', 'schedule', 'timeZone']);
    expect(zone.error?.issues[0]?.message).toMatch(/IANA time-zone name/);
    const time = bulk({ ...night, from: '25:00' });
    expect(time.error?.issues[0]?.path).toEqual(['bulk', 'schedule', 'from']);
    expect(time.error?.issues[0]?.message).toMatch(/HH:MM/);
    const same = bulk({ ...night, to: '22:00' });
    expect(same.error?.issues[0]?.path).toEqual(['bulk', 'schedule', 'to']);
  });
});

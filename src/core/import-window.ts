/**
 * The import window of a bulk lane (`flows.*.bulk.schedule`, docs/bulk-loads.md): Campaign's import
 * workflow is signalled only between `from` and `to`, local time in an IANA time zone. A window
 * whose `to` is earlier than its `from` crosses midnight (22:00–06:00). Local time comes from the
 * platform's time-zone database (`Intl`), so daylight-saving changes are the zone's.
 */
export interface BulkSchedule {
  /** Opening time, `HH:MM` (24 h), local to `timeZone`. */
  from: string;
  /** Closing time, `HH:MM`, local to `timeZone`; earlier than `from`: the window crosses midnight. */
  to: string;
  /** IANA time-zone name (`Europe/Paris`, `UTC`). */
  timeZone: string;
}

const dayMs = 24 * 3600_000;
const minuteMs = 60_000;
const hhmm = /^([01]\d|2[0-3]):([0-5]\d)$/;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** True when `timeZone` is a time zone the platform knows (an IANA name such as `Europe/Paris`). */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    formatterOf(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** `HH:MM` as milliseconds after local midnight; null when it is not a 24-hour `HH:MM`. */
export function parseTimeOfDay(text: string): number | null {
  const match = hhmm.exec(text);
  if (!match) return null;
  return (Number(match[1]) * 60 + Number(match[2])) * minuteMs;
}

function timeOfDayOrThrow(text: string): number {
  const ms = parseTimeOfDay(text);
  if (ms === null) throw new RangeError(`"${text}" is not a time of day (HH:MM, 00:00–23:59)`);
  return ms;
}

/** Milliseconds after local midnight in `timeZone` at instant `at` (whole seconds). */
export function localTimeOfDay(timeZone: string, at: number): number {
  let hour = 0;
  let minute = 0;
  let second = 0;
  for (const part of formatterOf(timeZone).formatToParts(at)) {
    if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
    else if (part.type === 'second') second = Number(part.value);
  }
  return ((hour * 60 + minute) * 60 + second) * 1000 + (((at % 1000) + 1000) % 1000);
}

/** True when instant `at` is inside the window. */
export function insideWindow(schedule: BulkSchedule, at: number): boolean {
  const from = timeOfDayOrThrow(schedule.from);
  const to = timeOfDayOrThrow(schedule.to);
  const local = localTimeOfDay(schedule.timeZone, at);
  return from < to ? local >= from && local < to : local >= from || local < to;
}

/**
 * The next instant at or after `at` when the window opens (local time reaches `from`); `at` itself
 * when the window is open then. On a day when `from` does not exist (skipped by a daylight-saving
 * change) the window opens at the first instant after the gap.
 */
export function nextWindowStart(schedule: BulkSchedule, at: number): number {
  if (insideWindow(schedule, at)) return at;
  const from = timeOfDayOrThrow(schedule.from);
  // Estimate by local time, then correct for an offset change in between (at most twice).
  let candidate = at + mod(from - localTimeOfDay(schedule.timeZone, at), dayMs);
  for (let i = 0; i < 3; i++) {
    const error = from - localTimeOfDay(schedule.timeZone, candidate);
    if (error === 0) break;
    candidate += error > dayMs / 2 ? error - dayMs : error < -dayMs / 2 ? error + dayMs : error;
  }
  if (candidate > at && opensAt(schedule, candidate)) return candidate;
  // A skipped or repeated local time: the first minute after `at` at which the window is open.
  for (let t = at - mod(at, minuteMs) + minuteMs; t <= at + 2 * dayMs; t += minuteMs)
    if (insideWindow(schedule, t)) return t;
  return candidate;
}

function opensAt(schedule: BulkSchedule, t: number): boolean {
  return insideWindow(schedule, t) && !insideWindow(schedule, t - 1000);
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

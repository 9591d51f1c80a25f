/** How the dashboard writes numbers, durations, times and sizes (en-US digits, UTC times). */

const missing = '—';

/** A count or rate: integers grouped, fractions to one decimal. */
export function formatNumber(n: number | null | undefined): string {
  if (n === null || n === undefined) return missing;
  return Number.isInteger(n)
    ? n.toLocaleString('en-US')
    : n.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

/** A duration in the largest unit that keeps it readable: ms, s, min, h. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return missing;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** A moment (ms since epoch) as `YYYY-MM-DD HH:MM:SSZ`. */
export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return missing;
  return `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)}Z`;
}

const byteUnits = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** A size in binary units, one decimal above bytes. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return missing;
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < byteUnits.length - 1) {
    value = value / 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${byteUnits[unit]}`;
}

/** An opt-out flag as words. */
export function formatOptOut(value: boolean | null | undefined): string {
  if (value === null || value === undefined) return missing;
  return value ? 'opted out' : 'allowed';
}

/** The message of anything thrown. */
export function formatError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

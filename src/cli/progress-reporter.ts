import { systemClock } from '../core/clock.js';
/** One long-running task's progress (initial load, replay, re-baseline, plan). */
export interface ProgressUpdate {
  /** e.g. `contacts initial load`. */
  label: string;
  done: number;
  total: number | null;
  startedAt: number;
  finished: boolean;
}

export interface ProgressReporterOptions {
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Plain-line interval when not on a terminal. @default 10000 */
  plainIntervalMs?: number;
  /** The clock the progress's `startedAt` was taken on. @default systemClock */
  now?: () => number;
}

function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0
    ? `${h}h${String(m).padStart(2, '0')}m`
    : m > 0
      ? `${m}m${String(sec).padStart(2, '0')}s`
      : `${sec}s`;
}

/** Rate and ETA text for a progress update. */
export function describeProgress(update: ProgressUpdate, now: number): string {
  const elapsed = Math.max(1, now - update.startedAt);
  const rate = (update.done * 1000) / elapsed;
  const pct = update.total ? Math.min(100, (100 * update.done) / update.total) : null;
  const eta = update.total && rate > 0 ? ((update.total - update.done) / rate) * 1000 : NaN;
  const count = update.total ? `${update.done}/${update.total}` : `${update.done}`;
  const parts = [`${update.label}: ${count}`];
  if (pct !== null) parts.push(`${pct.toFixed(1)} %`);
  parts.push(`${rate.toFixed(0)}/s`);
  if (update.finished) parts.push(`done in ${formatDuration(elapsed)}`);
  else if (Number.isFinite(eta)) parts.push(`ETA ${formatDuration(eta)}`);
  return parts.join(' · ');
}

/**
 * Shows progress as a redrawn bar on a terminal and as periodic plain lines otherwise (logs,
 * CI), so long work is never silent.
 */
export class ProgressReporter {
  private readonly last = new Map<string, number>();
  private readonly plainIntervalMs: number;
  private readonly now: () => number;

  constructor(private readonly options: ProgressReporterOptions) {
    this.plainIntervalMs = options.plainIntervalMs ?? 10_000;
    this.now = options.now ?? (() => systemClock.now());
  }

  update(update: ProgressUpdate): void {
    const now = this.now();
    const text = describeProgress(update, now);
    const { stream } = this.options;
    if (stream.isTTY) {
      const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - text.length - 5));
      const ratio = update.total ? Math.min(1, update.done / update.total) : 0;
      const filled = Math.round(ratio * width);
      const bar = update.total ? `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ` : '';
      stream.write(`\r${bar}${text}\x1b[K${update.finished ? '\n' : ''}`);
      return;
    }
    const previous = this.last.get(update.label) ?? 0;
    if (update.finished || now - previous >= this.plainIntervalMs) {
      this.last.set(update.label, now);
      stream.write(`${text}\n`);
    }
  }
}

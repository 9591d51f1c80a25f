import cliProgress from 'cli-progress';
import { systemClock } from '../core/clock.js';

/** One long-running task's progress (a run's written items, a plan's read). */
export interface ProgressUpdate {
  /** e.g. `contacts initial load`. */
  label: string;
  done: number;
  total: number | null;
  startedAt: number;
  finished: boolean;
  /** Measured rate (items/s); computed from `startedAt` when absent. */
  ratePerSecond?: number | null | undefined;
  /** Time left (ms); computed from the rate when absent. */
  etaMs?: number | null | undefined;
}

export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

export interface ProgressReporterOptions {
  stream: ProgressStream;
  /** Plain-line interval when not on a terminal. @default 10000 */
  plainIntervalMs?: number;
  /** The clock the progress's `startedAt` was taken on. @default systemClock */
  now?: () => number;
}

/** `1h05m`, `3m07s`, `12s`. */
export function formatDuration(ms: number): string {
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

interface Figures {
  count: string;
  percent: number | null;
  rate: string;
  tail: string;
}

function figuresOf(update: ProgressUpdate, now: number): Figures {
  const elapsed = Math.max(1, now - update.startedAt);
  const rate = update.ratePerSecond ?? (update.done * 1000) / elapsed;
  const percent = update.total ? Math.min(100, (100 * update.done) / update.total) : null;
  const eta =
    update.etaMs !== undefined
      ? (update.etaMs ?? NaN)
      : update.total && rate > 0
        ? ((update.total - update.done) / rate) * 1000
        : NaN;
  return {
    count: update.total ? `${update.done}/${update.total}` : `${update.done}`,
    percent,
    rate: `${rate.toFixed(0)}/s`,
    tail: update.finished
      ? `done in ${formatDuration(elapsed)}`
      : Number.isFinite(eta)
        ? `ETA ${formatDuration(eta)}`
        : 'ETA ?',
  };
}

/** Count, percentage, rate and ETA of a progress update as one line. */
export function describeProgress(update: ProgressUpdate, now: number): string {
  const f = figuresOf(update, now);
  const parts = [`${update.label}: ${f.count}`];
  if (f.percent !== null) parts.push(`${f.percent.toFixed(1)} %`);
  parts.push(f.rate);
  if (update.finished || f.tail !== 'ETA ?') parts.push(f.tail);
  return parts.join(' · ');
}

/**
 * Shows progress as bars redrawn in place on a terminal (cli-progress, one bar per label) and as
 * periodic plain lines otherwise (logs, CI, a pipe), so long work is never silent and never fills
 * a log with redraws.
 */
export class ProgressReporter {
  private readonly last = new Map<string, number>();
  private readonly plainIntervalMs: number;
  private readonly now: () => number;
  private multi: cliProgress.MultiBar | null = null;
  private readonly bars = new Map<string, cliProgress.SingleBar>();
  private unrefHooked = false;
  /** When the last plain line was written (null before the first). */
  private lastLineAt: number | null = null;

  constructor(private readonly options: ProgressReporterOptions) {
    this.plainIntervalMs = options.plainIntervalMs ?? 10_000;
    this.now = options.now ?? (() => systemClock.now());
  }

  private get tty(): boolean {
    return this.options.stream.isTTY === true;
  }

  update(update: ProgressUpdate): void {
    const now = this.now();
    if (this.tty) {
      this.draw(update, now);
      return;
    }
    const previous = this.last.get(update.label);
    if (update.finished || previous === undefined || now - previous >= this.plainIntervalMs) {
      this.last.set(update.label, now);
      if (update.finished) this.last.delete(update.label);
      this.options.stream.write(`${describeProgress(update, now)}\n`);
      this.lastLineAt = now;
    }
  }

  /**
   * Work that is no run (live changes in the inbox) goes on: off a terminal, say so when nothing
   * else was printed for an interval, so a piped output is never silent while work remains.
   */
  pulse(text: () => string): void {
    if (this.tty) return;
    const now = this.now();
    if (this.lastLineAt !== null && now - this.lastLineAt < this.plainIntervalMs) return;
    if (this.lastLineAt === null) {
      // The first pulse only starts the interval: short work prints nothing.
      this.lastLineAt = now;
      return;
    }
    this.lastLineAt = now;
    this.options.stream.write(`${text()}\n`);
  }

  /** A line of its own (a run's summary): above the bars on a terminal. */
  line(text: string): void {
    if (this.multi) this.multi.log(`${text}\n`);
    else {
      this.options.stream.write(`${text}\n`);
      this.lastLineAt = this.now();
    }
    this.multi?.update();
  }

  /** Stop drawing (the bars' timer ends; the last state stays on screen). */
  close(): void {
    this.multi?.stop();
    this.multi = null;
    this.unrefHooked = false;
    this.bars.clear();
  }

  private draw(update: ProgressUpdate, now: number): void {
    const f = figuresOf(update, now);
    const payload = {
      label: update.label,
      pct: f.percent === null ? '  ?  %' : `${f.percent.toFixed(1).padStart(5)} %`,
      count: f.count,
      rate: f.rate,
      tail: f.tail,
    };
    // Without a total the bar stays empty; the count says how far it is.
    const total = update.total ?? 0;
    const value = update.total === null ? 0 : Math.min(update.done, update.total);
    this.multi ??= new cliProgress.MultiBar(
      {
        stream: this.options.stream,
        format: '{label} [{bar}] {pct} · {count} · {rate} · {tail}',
        barsize: 24,
        hideCursor: false,
        clearOnComplete: false,
        stopOnComplete: false,
        autopadding: false,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    if (!this.unrefHooked) {
      // The redraw timer must never keep the process alive (a command that ends with a bar open).
      const unref = (): void => {
        (this.multi as unknown as { timer?: NodeJS.Timeout | null } | null)?.timer?.unref();
      };
      this.multi.on('start', unref);
      this.multi.on('update-post', unref);
      this.unrefHooked = true;
    }
    let bar = this.bars.get(update.label);
    if (!bar) {
      bar = this.multi.create(Math.max(total, 1), value, payload);
      this.bars.set(update.label, bar);
    } else {
      bar.setTotal(Math.max(total, 1));
      bar.update(value, payload);
    }
    if (update.finished) {
      this.multi.update();
      this.bars.delete(update.label);
      if (this.bars.size === 0) this.close();
    }
  }
}

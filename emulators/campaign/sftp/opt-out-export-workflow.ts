import { open, utimes, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  formatExportFileName,
  formatMalformedRow,
  formatOptOutExportHeader,
  formatOptOutExportRow,
  formatOptOutExportTrailer,
  type MalformedRowKind,
} from './opt-out-export-format.js';
import type { OptOutExportSource } from './opt-out-export-source.js';
import { SftpQuotaExceededError, type SftpStorage } from './sftp-storage.js';

/** What to do on a run that found no changes. */
export const noChangeBehaviours = ['header-only', 'no-file'] as const;
export type NoChangeBehaviour = (typeof noChangeBehaviours)[number];

/** Write the file in `chunks` parts, `intervalMs` apart, so readers can see it grow. */
export interface SlowWriteSettings {
  chunks: number;
  intervalMs: number;
}

/** The knobs an admin API may change at run time. */
export interface OptOutExportSettings {
  /** Daily run time, `HH:MM` UTC. @default '02:00' */
  runAtUtc: string;
  /**
   * `header-only` writes a file with just the header when nothing changed, so a quiet day still
   * shows the workflow is alive (the ACS Extract-file default); `no-file` writes nothing.
   * @default 'header-only'
   */
  whenNoChanges: NoChangeBehaviour;
  /** Slow (growing) write mode; null writes each file in one go. @default null */
  slowWrite: SlowWriteSettings | null;
  /**
   * End each file with the trailer `#EOF;N` (N data lines). Not a documented ACS feature: an
   * assumption a reader may be configured to require (README.md "Completeness"). @default false
   */
  trailer: boolean;
}

/** Options of {@link OptOutExportWorkflow}. */
export interface OptOutExportWorkflowOptions extends Partial<OptOutExportSettings> {
  source: OptOutExportSource;
  /** The SFTP account's disk; the file counts against its quota. */
  storage: SftpStorage;
  /** Emulated time: decides when a day has passed, the change window, file names and mtimes. */
  clock: { now(): number };
  /** Folder the files go to, relative to the SFTP root. @default 'd365_loads/exports' */
  exportDir?: string;
  /** Start of the first run's window: 0 exports every opt-out ever changed. @default 0 */
  initialSinceMs?: number;
  /** Real-time interval at which {@link OptOutExportWorkflow.start}'s timer calls tick(); 0 = no timer. @default 1000 */
  pollIntervalMs?: number;
}

export const optOutExportOutcomes = ['written', 'no-changes', 'stopped', 'failed'] as const;
export type OptOutExportOutcome = (typeof optOutExportOutcomes)[number];

/** What one run did. */
export interface OptOutExportRun {
  outcome: OptOutExportOutcome;
  /** File name, when a file was (or began to be) written. */
  fileName: string | null;
  /** Path relative to the SFTP root (`d365_loads/exports/optout_….csv`), as a client passes it. */
  path: string | null;
  /** Good data rows written. */
  rowCount: number;
  /** Injected broken rows, with their 1-based line numbers (line 1 is the header). */
  malformedRows: Array<{ line: number; kind: MalformedRowKind }>;
  bytes: number;
  /** The change window `[windowStartMs, windowEndMs)` the file covers. */
  windowStartMs: number;
  windowEndMs: number;
  /** Why the run failed (quota), when it did. */
  error: string | null;
}

/** A snapshot for the admin API. */
export interface OptOutExportState {
  status: 'running' | 'stopped';
  settings: OptOutExportSettings;
  /** Start of the next run's window. */
  nextWindowStartMs: number;
  /** When the next scheduled run is due (emulated ms). */
  nextRunAtMs: number;
  filesWritten: number;
  lastRun: OptOutExportRun | null;
}

const dayMs = 24 * 60 * 60 * 1000;

/**
 * The Campaign workflow Adobe sets up for the integration: once per emulated day (or on demand) it
 * writes the profiles whose `blackList*`/`ccpaOptOut` changed since its last successful run into
 * `d365_loads/exports` (format in README.md). It starts stopped; a stopped workflow writes nothing,
 * which is the path to the integration's staleness alert. Test hooks: slow (growing) writes and
 * injected malformed rows.
 */
export class OptOutExportWorkflow {
  private readonly source: OptOutExportSource;
  private readonly storage: SftpStorage;
  private readonly clock: { now(): number };
  private readonly exportDir: string;
  private readonly initialSinceMs: number;
  private readonly pollIntervalMs: number;
  private settings: OptOutExportSettings;
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private windowStartMs: number;
  private nextRunAtMs: number;
  private pendingMalformed: MalformedRowKind[] = [];
  private filesWritten = 0;
  private lastRun: OptOutExportRun | null = null;
  /** Runs happen one after another; this is the tail of that chain. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: OptOutExportWorkflowOptions) {
    this.source = options.source;
    this.storage = options.storage;
    this.clock = options.clock;
    this.exportDir = options.exportDir ?? 'd365_loads/exports';
    this.initialSinceMs = options.initialSinceMs ?? 0;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.settings = { runAtUtc: '02:00', whenNoChanges: 'header-only', slowWrite: null, trailer: false };
    this.nextRunAtMs = 0;
    this.configure(options);
    this.windowStartMs = this.initialSinceMs;
    this.nextRunAtMs = this.nextOccurrence(this.clock.now(), true);
  }

  get status(): 'running' | 'stopped' {
    return this.running ? 'running' : 'stopped';
  }

  /** Change run-time settings; unknown or invalid values are rejected. */
  configure(settings: Partial<OptOutExportSettings>): void {
    const next = { ...this.settings };
    if (settings.runAtUtc !== undefined) {
      parseTimeOfDay(settings.runAtUtc);
      next.runAtUtc = settings.runAtUtc;
    }
    if (settings.whenNoChanges !== undefined) {
      if (!noChangeBehaviours.includes(settings.whenNoChanges))
        throw new RangeError('whenNoChanges is invalid');
      next.whenNoChanges = settings.whenNoChanges;
    }
    if (settings.slowWrite !== undefined) {
      const slow = settings.slowWrite;
      if (slow !== null && (!Number.isInteger(slow.chunks) || slow.chunks < 1 || !(slow.intervalMs >= 0))) {
        throw new RangeError('slowWrite needs chunks ≥ 1 and intervalMs ≥ 0');
      }
      next.slowWrite = slow === null ? null : { ...slow };
    }
    if (settings.trailer !== undefined) next.trailer = settings.trailer === true;
    const scheduleChanged = next.runAtUtc !== this.settings.runAtUtc;
    this.settings = next;
    if (scheduleChanged) this.nextRunAtMs = this.nextOccurrence(this.clock.now(), true);
  }

  /** Resume the schedule (and the poll timer when `pollIntervalMs` > 0). */
  start(): void {
    if (!this.running) {
      this.running = true;
      this.nextRunAtMs = this.nextOccurrence(this.clock.now(), true);
    }
    if (this.pollIntervalMs > 0 && this.timer === null) {
      this.timer = setInterval(() => void this.tick(), this.pollIntervalMs);
    }
  }

  /** Stop: no more files until {@link start}. Waits for a file being written to be complete. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.queue;
  }

  /** Run if the daily time has come (missed days collapse into one run); null when not due. */
  tick(): Promise<OptOutExportRun | null> {
    const now = this.clock.now();
    if (!this.running || now < this.nextRunAtMs) return Promise.resolve(null);
    this.nextRunAtMs = this.nextOccurrence(now, false);
    return this.runOnce();
  }

  /** Run now, whatever the schedule says (outcome `stopped` when the workflow is stopped). */
  runOnce(): Promise<OptOutExportRun> {
    const run = this.queue.then(() => this.execute());
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Put these broken rows into the next file written (one row per entry). */
  injectMalformedRows(kinds: readonly MalformedRowKind[]): void {
    this.pendingMalformed.push(...kinds);
  }

  /** Forget past runs: the next window starts at `initialSinceMs` again. */
  reset(): void {
    this.windowStartMs = this.initialSinceMs;
    this.pendingMalformed = [];
    this.filesWritten = 0;
    this.lastRun = null;
  }

  state(): OptOutExportState {
    return {
      status: this.status,
      settings: { ...this.settings },
      nextWindowStartMs: this.windowStartMs,
      nextRunAtMs: this.nextRunAtMs,
      filesWritten: this.filesWritten,
      lastRun: this.lastRun,
    };
  }

  private async execute(): Promise<OptOutExportRun> {
    const windowStartMs = this.windowStartMs;
    const windowEndMs = this.clock.now();
    const run: OptOutExportRun = {
      outcome: 'stopped',
      fileName: null,
      path: null,
      rowCount: 0,
      malformedRows: [],
      bytes: 0,
      windowStartMs,
      windowEndMs,
      error: null,
    };
    if (!this.running) return run;

    const rows = [...this.source.listOptOutChangesSince(windowStartMs, windowEndMs)];
    const malformed = this.pendingMalformed.splice(0);
    if (rows.length === 0 && malformed.length === 0 && this.settings.whenNoChanges === 'no-file') {
      this.windowStartMs = windowEndMs;
      return this.finish({ ...run, outcome: 'no-changes' });
    }

    const lines = [formatOptOutExportHeader()];
    // Spread the broken rows among the good ones, so a reader must recover mid-file.
    let nextBad = 0;
    for (let index = 0; index <= rows.length; index += 1) {
      while (
        nextBad < malformed.length &&
        Math.floor(((nextBad + 1) * rows.length) / (malformed.length + 1)) <= index
      ) {
        const kind = malformed[nextBad]!;
        run.malformedRows.push({ line: lines.length + 1, kind });
        lines.push(formatMalformedRow(kind, nextBad + 1, windowEndMs));
        nextBad += 1;
      }
      const row = rows[index];
      if (row !== undefined) lines.push(formatOptOutExportRow(row));
    }
    run.rowCount = rows.length;
    if (this.settings.trailer) lines.push(formatOptOutExportTrailer(lines.length - 1));

    const content = Buffer.from(lines.join(''), 'utf8');
    const file = await this.openNewFile(windowEndMs);
    run.fileName = file.name;
    run.path = `${this.exportDir}/${file.name}`;
    try {
      await this.writeContent(file.localPath, file.handle, content, run);
    } catch (error) {
      if (!(error instanceof SftpQuotaExceededError)) throw error;
      // Like a full disk: the partial file stays, the window does not move, the next run retries.
      return this.finish({ ...run, outcome: 'failed', error: error.message });
    } finally {
      await file.handle.close();
    }
    this.windowStartMs = windowEndMs;
    this.filesWritten += 1;
    return this.finish({
      ...run,
      outcome: rows.length === 0 && malformed.length === 0 ? 'no-changes' : 'written',
    });
  }

  private finish(run: OptOutExportRun): OptOutExportRun {
    this.lastRun = run;
    return run;
  }

  private async openNewFile(atMs: number): Promise<{ name: string; localPath: string; handle: FileHandle }> {
    const dir = await this.storage.resolveLocalPath(this.exportDir);
    for (let collision = 0; ; collision += 1) {
      const name = formatExportFileName(atMs, collision);
      const localPath = path.join(dir, name);
      try {
        return { name, localPath, handle: await open(localPath, 'wx') };
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
      }
    }
  }

  private async writeContent(
    localPath: string,
    handle: FileHandle,
    content: Buffer,
    run: OptOutExportRun,
  ): Promise<void> {
    const slow = this.settings.slowWrite;
    const chunks = slow?.chunks ?? 1;
    const chunkSize = Math.ceil(content.length / chunks);
    for (let offset = 0, part = 0; offset < content.length; offset += chunkSize, part += 1) {
      if (part > 0 && slow !== null) await sleep(slow.intervalMs);
      const chunk = content.subarray(offset, offset + chunkSize);
      await this.storage.reserve(chunk.length);
      await handle.write(chunk, 0, chunk.length, offset);
      run.bytes += chunk.length;
      // Campaign stamps the file with its own (here: emulated) time.
      const nowSeconds = this.clock.now() / 1000;
      await utimes(localPath, nowSeconds, nowSeconds);
    }
  }

  /** Next daily run time after `fromMs` (or at it, when `inclusive`). */
  private nextOccurrence(fromMs: number, inclusive: boolean): number {
    const offset = parseTimeOfDay(this.settings.runAtUtc);
    let candidate = Math.floor(fromMs / dayMs) * dayMs + offset;
    while (inclusive ? candidate < fromMs : candidate <= fromMs) candidate += dayMs;
    return candidate;
  }
}

function parseTimeOfDay(value: string): number {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(value);
  if (match === null) throw new RangeError(`runAtUtc must be HH:MM (UTC), got ${JSON.stringify(value)}`);
  return (Number(match[1]) * 60 + Number(match[2])) * 60 * 1000;
}

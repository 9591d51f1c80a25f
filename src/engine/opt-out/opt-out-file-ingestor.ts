import { createHash } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import { errorCode, SyncError } from '../../core/errors.js';
import type { Alert, AlertSink } from '../../core/ports/alert-sink.js';
import type { EngineLogger } from '../../core/ports/engine-logger.js';
import type {
  ContactOptOutState,
  ContactOptOutUpdate,
  OptOutDynamicsWriter,
} from '../../core/ports/opt-out-dynamics-writer.js';
import type {
  OptOutFileEntry,
  OptOutFileSource,
  OptOutStorageUsage,
} from '../../core/ports/opt-out-file-source.js';
import type {
  NewQuarantinedRow,
  OptOutDecision,
  OptOutFileRecord,
  OptOutWrite,
} from '../../core/ports/opt-out-store.js';
import type { StateStore, WorkItemInput } from '../../core/ports/state-store.js';
import type { EngineCompanion } from '../sync-engine.js';
import { decideOptOut, recordEcho, recordSupersededRow, type OptOutObservation } from './opt-out-decision.js';
import { parseOptOutExport, type ParsedExportLine, type QuarantineReason } from './opt-out-export-parser.js';
import { assessExportScan, scanOptOutExport, type ExportScan } from './opt-out-export-scan.js';
import { limitBytes } from './opt-out-line-reader.js';
import {
  optOutCampaignFlow,
  optOutDynamicsFlow,
  optOutItemKey,
  type OptOutPair,
  type OptOutSettings,
} from './opt-out-settings.js';
import type { OptOutCampaignPayload, OptOutDynamicsPayload } from './opt-out-work-applier.js';

/** `flows.optOut.file` after defaults (docs/configuration.md). */
export interface OptOutFileSettings {
  pollIntervalMs: number;
  stableChecks: number;
  stalenessHours: number;
  retentionDays: number;
  afterProcessing: 'archive' | 'delete';
  batchSize: number;
  /** Longest line read; a longer one is quarantined (`line-too-long`) without being held. */
  maxLineBytes: number;
  /** Hold a file until it ends with the trailer `#EOF;N`. */
  requireTrailer: boolean;
  /** A file held (not whole) for longer than this is a problem and an alert. */
  incompleteAfterMinutes: number;
  /** Failed attempts of a file (connection, Dynamics errors) before it is a problem and an alert. */
  maxAttempts: number;
}

export interface OptOutFileIngestorOptions {
  settings: OptOutSettings;
  file: OptOutFileSettings;
  source: OptOutFileSource;
  writer: OptOutDynamicsWriter;
  store: StateStore;
  clock: Clock;
  logger: EngineLogger;
  alerts: AlertSink;
  /** Licensed SFTP storage (`campaign.sftp.quotaBytes`); usage alerts at 80 % and 90 %. */
  quotaBytes: number | null;
  /** Lock owner (host:pid); one process ingests at a time. */
  owner: string;
  /**
   * A Campaign `…LastModified` within this distance of our own write of the same value is that
   * write coming back (the two clocks differ a little). @default 300000
   */
  echoToleranceMs?: number;
  /** Rewrites of conflicting rows (HTTP 412) before they go to the `optout:dynamics` queue. @default 2 */
  conflictRetries?: number;
  /** Called after each committed batch (progress). */
  onBatch?: (progress: { file: string; line: number }) => void;
  /** Same alert kind and subject at most once per window. @default 3600000 */
  realertMs?: number;
}

/** What ingesting one file did. */
export interface IngestReport {
  outcome: 'processed' | 'already-processed' | 'interrupted' | 'failed' | 'held';
  file: OptOutFileRecord;
}

export interface IngestOptions {
  /** Process again even if the ledger says processed (`dcsync optout ingest --force`). @default false */
  force?: boolean;
  /** Archive or delete it afterwards, per configuration. @default true */
  dispose?: boolean;
  /** The file is in the archive folder already (it grew after it was archived): never moved. */
  archived?: boolean;
}

/** What applying chosen lines of a (fixed) file did (`dcsync optout ingest --lines`). */
export interface LinesReport {
  outcome: 'lines-applied';
  /** The file name the quarantined lines are recorded under. */
  file: string;
  /** Lines resolved and decided (written where the rule said so). */
  applied: number[];
  /** Lines resolved without a write: no or a foreign external id, an unknown contact, empty. */
  skipped: number[];
  /** Lines still broken in the given file; they stay quarantined. */
  stillQuarantined: { line: number; reason: QuarantineReason; column: string | null }[];
  /** Lines the file does not have. */
  missing: number[];
}

/** Kinds of file problems (docs/opt-outs.md, "Problems and alerts"). */
export const optOutFileProblemKinds = ['quarantined-lines', 'failed', 'incomplete', 'retrying'] as const;
export type OptOutFileProblemKind = (typeof optOutFileProblemKinds)[number];

/** An export file that needs the operator. Names, counts and codes only. */
export interface OptOutFileProblem {
  file: string;
  problem: OptOutFileProblemKind;
  /** Error code of a failed, held or retrying file. */
  code: string | null;
  /** Open quarantined lines. */
  lines: number | null;
  /** First open quarantined line. */
  firstLine: number | null;
  /** One line for the status, e.g. `opt-out file optout_….csv: 2 lines quarantined`. */
  summary: string;
  /** What it means and what to do (the alert's text). */
  detail: string;
}

/** The settings the problem rules read. */
export type OptOutFileProblemSettings = Pick<OptOutFileSettings, 'incompleteAfterMinutes' | 'maxAttempts'>;

/** Freshness of the export, as the dashboard and the staleness alert see it. */
export interface OptOutFreshness {
  lastFileAt: number | null;
  stalenessHours: number;
  stale: boolean;
}

interface RowLine {
  line: number;
  recordKey: string;
  attributes: Extract<ParsedExportLine, { kind: 'row' }>['attributes'];
}

interface Batch {
  rows: RowLine[];
  keys: Set<string>;
  quarantined: NewQuarantinedRow[];
  /** Lines skipped by the parser (no or foreign external id, empty). */
  skippedLines: number[];
  lastLine: number;
}

/** What deciding and writing one batch produced, for its commit. */
interface BatchOutcome {
  /** Rows decided (written where the rule said so). */
  appliedLines: number[];
  /** Rows whose contact does not exist in Dynamics. */
  unknownLines: number[];
  writes: OptOutWrite[];
  decisions: Omit<OptOutDecision, 'id'>[];
}

interface PlannedUpdate {
  row: RowLine;
  state: ContactOptOutState;
  values: Record<string, boolean>;
  basis: Record<string, boolean | null>;
}

const lockName = 'optout:ingest';
const lastArrivalCheckpoint = 'optout:last-file-arrival';
const watchSinceCheckpoint = 'optout:watching-since';
const hourMs = 3_600_000;
const dayMs = 24 * hourMs;
/** Files archived this recently are listed again in the archive folder, in case they grew there. */
const archiveRecheckMs = dayMs;

function emptyBatch(): Batch {
  return { rows: [], keys: new Set(), quarantined: [], skippedLines: [], lastLine: 0 };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The export files that need the operator, from the ledger: files with open quarantined lines,
 * `failed` files, files held as not whole for longer than `incompleteAfterMinutes`, and files whose
 * processing failed `maxAttempts` times or more (still retried). Dismissed entries are not problems.
 */
export async function readOptOutFileProblems(
  store: Pick<StateStore, 'optOut'>,
  clock: Clock,
  settings: OptOutFileProblemSettings,
): Promise<OptOutFileProblem[]> {
  const { files, quarantined } = await store.optOut.fileProblems(100);
  const problems: Omit<OptOutFileProblem, 'detail'>[] = [];
  const base = { code: null, lines: null, firstLine: null };
  for (const q of quarantined)
    problems.push({
      ...base,
      file: q.fileName,
      problem: 'quarantined-lines',
      lines: q.lines,
      firstLine: q.firstLine,
      summary: `opt-out file ${q.fileName}: ${plural(q.lines, 'line')} quarantined`,
    });
  for (const f of files) {
    if (f.status === 'failed')
      problems.push({
        ...base,
        file: f.name,
        problem: 'failed',
        code: f.errorCode,
        summary: `opt-out file ${f.name} failed (${f.errorCode ?? 'unknown'})`,
      });
    else if (f.status === 'held' && clock.now() - f.startedAt > settings.incompleteAfterMinutes * 60_000)
      problems.push({
        ...base,
        file: f.name,
        problem: 'incomplete',
        code: f.errorCode,
        summary: `opt-out file ${f.name} incomplete for over ${settings.incompleteAfterMinutes} min (${f.errorCode ?? 'unknown'})`,
      });
    else if (f.status === 'processing' && f.attempts >= settings.maxAttempts)
      problems.push({
        ...base,
        file: f.name,
        problem: 'retrying',
        code: f.errorCode,
        summary: `opt-out file ${f.name} failed ${plural(f.attempts, 'attempt')} (${f.errorCode ?? 'unknown'}), still retried`,
      });
  }
  return problems
    .map((p) => ({ ...p, detail: fileProblemDetail(p, settings) }))
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

function fileProblemDetail(
  p: Omit<OptOutFileProblem, 'detail'>,
  settings: OptOutFileProblemSettings,
): string {
  const what =
    p.problem === 'quarantined-lines'
      ? `${plural(p.lines ?? 0, 'line')} quarantined and not applied (first: line ${p.firstLine}). ` +
        `List them with 'dcsync optout quarantine --file ${p.file}', fix them in a copy of the file and apply them with 'dcsync optout ingest --file <copy> --lines …', or dismiss them with 'dcsync optout dismiss'.`
      : p.problem === 'failed'
        ? `could not be read (${p.code}); its lines after the last committed one are not applied and it is not tried again. Fix the file and run 'dcsync optout ingest --file … --force', or dismiss it.`
        : p.problem === 'incomplete'
          ? `has not been whole for over ${settings.incompleteAfterMinutes} min (${p.code}); none of it is applied until it is. Check the Campaign export workflow.`
          : `failed ${settings.maxAttempts} times or more (${p.code}); it is tried again at every poll.`;
  return `Opt-out export file ${p.file} ${p.problem === 'quarantined-lines' ? 'has ' : ''}${what}`;
}

/**
 * Freshness from the store: the ingestor notes when a file name is first seen, and when it
 * started watching (so a new installation that never gets a file also turns stale).
 */
export async function readOptOutFreshness(
  store: Pick<StateStore, 'checkpoints'>,
  clock: Clock,
  stalenessHours: number,
): Promise<OptOutFreshness> {
  const [arrival, since] = await Promise.all([
    store.checkpoints.get(lastArrivalCheckpoint),
    store.checkpoints.get(watchSinceCheckpoint),
  ]);
  const lastFileAt = arrival === null ? null : Number(arrival);
  const from = lastFileAt ?? (since === null ? null : Number(since));
  return { lastFileAt, stalenessHours, stale: from !== null && clock.now() - from > stalenessHours * hourMs };
}

/**
 * Campaign→Dynamics opt-outs (flow F4): polls the export folder, waits until a file is complete
 * (size and time unchanged across `stableChecks` listings, last line ended by a newline, trailer
 * when there is one or it is required), processes each file once (ledger of name, size and
 * SHA-256), reads it line by line — a bad line is quarantined alone — in batches: read the
 * contacts' current values, resolve each mapped attribute by the mode, write Dynamics in one
 * `$batch` with `If-Match`, and commit each batch's line checkpoint, quarantined lines, writes and
 * decisions atomically, so a crash resumes after the last committed batch without re-applying
 * lines. Writes that fail go to the durable `optout:dynamics` flow (retries, dead letters). Then it
 * archives or deletes the file, looks again at files archived lately (one that grew there carries
 * on), removes archived files after the retention, and alerts on SFTP usage (80 %, 90 %), on a
 * missing file (no new file within `stalenessHours`) and on every file problem (quarantined lines,
 * failed, held too long, failing again and again). A file that fails never stops the ones after it.
 */
export class OptOutFileIngestor implements EngineCompanion {
  private readonly columns: string[];
  private readonly echoToleranceMs: number;
  private readonly conflictRetries: number;
  private readonly realertMs: number;
  private readonly observations = new Map<string, { size: number; modifiedAt: number; count: number }>();
  private readonly lastAlerts = new Map<string, number>();
  private waiting = 0;
  private polls = 0;
  private busy = false;
  private running = false;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private usageReport: OptOutStorageUsage | null = null;

  constructor(private readonly options: OptOutFileIngestorOptions) {
    this.columns = options.settings.pairs.map((p) => p.dynamicsColumn);
    this.echoToleranceMs = options.echoToleranceMs ?? 300_000;
    this.conflictRetries = options.conflictRetries ?? 2;
    this.realertMs = options.realertMs ?? hourMs;
  }

  /** Last measured SFTP usage (null before the first poll). */
  get usage(): OptOutStorageUsage | null {
    return this.usageReport;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.loop = this.run();
  }

  /** Stop polling; a file being processed stops after its current batch and resumes next time. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopping = true;
    this.wakeUp?.();
    await this.loop;
    await this.options.store.locks.release(lockName, this.options.owner).catch(() => undefined);
  }

  /** Polled at least once, not working, and no file is waiting to become complete. */
  isIdle(): boolean {
    return this.polls > 0 && !this.busy && this.waiting === 0;
  }

  /** Poll now instead of waiting for the interval. */
  wake(): void {
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.pollOnce();
      } catch (error) {
        this.options.logger.error(
          { err: error, code: errorCode(error) },
          'opt-out export poll failed; retrying',
        );
      }
      if (!this.running) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.options.file.pollIntervalMs);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.wakeUp = () => {
          this.wakeUp = null;
          done();
        };
      });
    }
  }

  /**
   * One poll: list, process every complete file in name order (a file that fails never stops the
   * ones after it), look again at files archived lately (a writer may have gone on writing into
   * one), apply the retention, measure usage, check freshness and raise an alert for every file
   * problem. Another process holding the ingest lock makes this a no-op.
   */
  async pollOnce(): Promise<void> {
    const { store, clock, owner } = this.options;
    this.busy = true;
    try {
      const lockTtl = Math.max(5 * 60_000, this.options.file.pollIntervalMs * 3);
      if (!(await store.locks.tryAcquire(lockName, owner, lockTtl))) return;
      if ((await store.checkpoints.get(watchSinceCheckpoint)) === null)
        await store.checkpoints.set(watchSinceCheckpoint, String(clock.now()));
      const entries = await this.options.source.list();
      const complete = await this.trackCompleteness(entries);
      for (const entry of complete) {
        if (this.stopping) break;
        await store.locks.renew(lockName, owner, lockTtl);
        await this.ingestLogged(entry, {});
      }
      if (!this.stopping) await this.recheckArchived();
      await this.applyRetention();
      await this.checkUsage();
      await this.checkFreshness();
      await this.checkFileProblems();
    } finally {
      this.polls += 1;
      this.busy = false;
    }
  }

  /** Ingest one file; a failure is logged (the ledger and the problem alerts carry it further). */
  private async ingestLogged(entry: OptOutFileEntry, options: IngestOptions): Promise<void> {
    try {
      await this.ingest(entry, options);
    } catch (error) {
      // A transient failure (connection, timeout, 5xx) leaves the file `processing`: the next poll
      // resumes it after its last committed batch. Its attempts are counted in the ledger.
      this.options.logger.error(
        { err: error, file: entry.name, code: errorCode(error) },
        'opt-out file not finished; will resume',
      );
    }
  }

  /** Files whose size and time did not change across `stableChecks` listings; remembers arrivals. */
  private async trackCompleteness(entries: readonly OptOutFileEntry[]): Promise<OptOutFileEntry[]> {
    const complete: OptOutFileEntry[] = [];
    const seen = new Set<string>();
    let waiting = 0;
    for (const entry of entries) {
      seen.add(entry.name);
      const previous = this.observations.get(entry.name);
      if (previous === undefined) {
        const known = await this.options.store.optOut.filesNamed(entry.name);
        if (known.length === 0) await this.noteArrival();
      }
      const same = previous && previous.size === entry.sizeBytes && previous.modifiedAt === entry.modifiedAt;
      const count = same ? previous.count + 1 : 1;
      this.observations.set(entry.name, { size: entry.sizeBytes, modifiedAt: entry.modifiedAt, count });
      if (count >= this.options.file.stableChecks) complete.push(entry);
      else waiting += 1;
    }
    for (const name of [...this.observations.keys()]) if (!seen.has(name)) this.observations.delete(name);
    this.waiting = waiting;
    return complete;
  }

  private async noteArrival(): Promise<void> {
    await this.options.store.checkpoints.set(lastArrivalCheckpoint, String(this.options.clock.now()));
  }

  /**
   * Ingest one file: exactly once per name, size and content. Also what `dcsync optout ingest`
   * runs (with `force` to process a processed file again).
   *
   * First one pass over the bytes ({@link scanOptOutExport}): checksum, and whether the file is
   * whole. Empty → `failed`; the last line without a newline, or a required trailer missing →
   * `held` (nothing applied, nothing moved; a problem once held for `incompleteAfterMinutes`); a
   * trailer that counts other lines → `failed`. A file whose earlier, shorter version is in the
   * ledger (it grew) carries on from that version's line checkpoint, which becomes `superseded`.
   * Then its lines are read and applied, exactly the scanned bytes. A `held` or `failed` file
   * listed again unchanged is not read again.
   */
  async ingest(entry: OptOutFileEntry, options: IngestOptions = {}): Promise<IngestReport> {
    const { store, source, logger } = this.options;
    const dispose = options.dispose ?? true;
    const known = await store.optOut.filesNamed(entry.name);
    if (!options.force) {
      const parked = known.find(
        (f) =>
          (f.status === 'held' || f.status === 'failed') &&
          f.path === entry.path &&
          f.sizeBytes === entry.sizeBytes &&
          f.modifiedAt === entry.modifiedAt,
      );
      if (parked) return { outcome: parked.status === 'held' ? 'held' : 'failed', file: parked };
    }
    const current = known.filter((f) => f.status !== 'superseded');
    const scan = await scanOptOutExport(source.download(entry.path), {
      prefixSizes: current.map((f) => f.sizeBytes),
    });
    const identity = { name: entry.name, sizeBytes: scan.sizeBytes, checksum: scan.checksum };
    const existing = known.find((f) => f.sizeBytes === scan.sizeBytes && f.checksum === scan.checksum);
    if (existing && existing.status !== 'processing' && !options.force) {
      if (existing.status === 'processed' && dispose) await this.dispose(existing, entry, options);
      const outcome =
        existing.status === 'held' || existing.status === 'failed' ? existing.status : 'already-processed';
      return { outcome, file: existing };
    }
    if (existing && existing.status !== 'processing') await store.optOut.restartFile(existing.id);
    const verdict = assessExportScan(scan, { requireTrailer: this.options.file.requireTrailer });
    const grownFrom = existing
      ? null
      : (current.find(
          (f) => f.sizeBytes < scan.sizeBytes && scan.prefixChecksums.get(f.sizeBytes) === f.checksum,
        ) ?? null);
    const { file, created } = await store.optOut.beginFile(
      { ...identity, path: entry.path, modifiedAt: entry.modifiedAt },
      { supersedes: grownFrom?.id },
    );
    if (options.archived && created) await store.optOut.markDisposed(file.id, 'archived', entry.path);
    if (verdict.kind !== 'read') {
      await store.optOut.finishFile(file.id, { status: verdict.kind, errorCode: verdict.code });
      if (verdict.kind === 'failed') await store.optOut.recordAttempt(file.id, verdict.code);
      logger.warn(
        { file: file.name, sizeBytes: file.sizeBytes, code: verdict.code },
        verdict.kind === 'held' ? 'opt-out file held: not whole yet' : 'opt-out file failed',
      );
      return { outcome: verdict.kind, file: (await store.optOut.findFile(identity)) ?? file };
    }
    logger.info(
      {
        file: file.name,
        sizeBytes: file.sizeBytes,
        resumeAfterLine: file.lineCheckpoint,
        created,
        grownFrom: grownFrom?.sizeBytes,
      },
      created && grownFrom === null ? 'opt-out file: processing' : 'opt-out file: resuming',
    );
    let outcome: IngestReport['outcome'];
    try {
      outcome = await this.processRows(file, entry, scan, verdict.trailerLine);
    } catch (error) {
      const code = errorCode(error);
      if (error instanceof SyncError && error.area !== 'opt-out') {
        // Connection, Dynamics or store trouble: not about this file. It stays `processing` and
        // is resumed next poll; its attempts make it a problem after `maxAttempts`.
        await store.optOut.recordAttempt(file.id, code).catch(() => undefined);
        throw error;
      }
      // About this file (its header, its content changed) or unknown: retrying would read the same
      // bytes to the same end, so it fails now and never blocks the files after it.
      const failedCode = error instanceof SyncError ? code : 'OPTOUT_FILE_UNEXPECTED';
      await store.optOut.recordAttempt(file.id, failedCode);
      await store.optOut.finishFile(file.id, { status: 'failed', errorCode: failedCode });
      logger.error({ err: error, file: file.name, code: failedCode }, 'opt-out file failed');
      return { outcome: 'failed', file: (await store.optOut.findFile(identity)) ?? file };
    }
    const after = (await store.optOut.findFile(identity)) ?? file;
    if (outcome === 'processed') {
      await store.optOut.finishFile(file.id, { status: 'processed' });
      logger.info(
        {
          file: file.name,
          applied: after.rowsApplied,
          quarantined: after.rowsQuarantined,
          skipped: after.rowsSkipped,
        },
        'opt-out file: processed',
      );
      if (dispose) await this.dispose(after, entry, options);
    }
    return { outcome, file: (await store.optOut.findFile(identity)) ?? after };
  }

  /**
   * Apply chosen lines of a file again (`dcsync optout ingest --file F --lines …`): after the
   * operator fixed quarantined lines in a copy of the file, only those lines are read, decided and
   * written, and their quarantine entries are resolved (`reapplied`) in the same transaction as
   * the writes and decisions. Lines still broken stay quarantined. The file must be whole.
   */
  async applyLines(entry: OptOutFileEntry, lines: readonly number[]): Promise<LinesReport> {
    const { source } = this.options;
    const wanted = new Set(lines);
    const scan = await scanOptOutExport(source.download(entry.path));
    const verdict = assessExportScan(scan, { requireTrailer: false });
    if (verdict.kind !== 'read')
      throw new SyncError(
        verdict.code,
        `${entry.name} is not a whole export file (${verdict.code}); no line applied`,
      );
    const report: LinesReport = {
      outcome: 'lines-applied',
      file: entry.name,
      applied: [],
      skipped: [],
      stillQuarantined: [],
      missing: [],
    };
    const seen = new Set<number>();
    const commit = async (batch: Batch, result: BatchOutcome): Promise<void> => {
      const unknown = new Set(result.unknownLines);
      report.applied.push(...result.appliedLines);
      report.skipped.push(...batch.skippedLines, ...unknown);
      await this.options.store.optOut.resolveQuarantine({
        fileName: entry.name,
        lines: [...result.appliedLines, ...unknown, ...batch.skippedLines],
        resolution: 'reapplied',
        writes: result.writes,
        decisions: result.decisions,
      });
    };
    let batch = emptyBatch();
    for await (const parsed of this.readLines(source.download(entry.path), scan, verdict.trailerLine)) {
      if (!wanted.has(parsed.line)) continue;
      seen.add(parsed.line);
      if (parsed.kind === 'quarantine') {
        report.stillQuarantined.push({ line: parsed.line, reason: parsed.reason, column: parsed.column });
        continue;
      }
      if (parsed.kind === 'row' && batch.keys.has(parsed.recordKey)) {
        await this.flush(entry.name, batch, commit);
        batch = emptyBatch();
      }
      this.addToBatch(entry.name, batch, parsed);
      if (batch.rows.length + batch.skippedLines.length >= this.options.file.batchSize) {
        await this.flush(entry.name, batch, commit);
        batch = emptyBatch();
      }
    }
    if (batch.rows.length + batch.skippedLines.length > 0) await this.flush(entry.name, batch, commit);
    report.missing = [...wanted].filter((line) => !seen.has(line)).sort((a, b) => a - b);
    report.applied.sort((a, b) => a - b);
    report.skipped.sort((a, b) => a - b);
    this.options.logger.info(
      {
        file: entry.name,
        applied: report.applied.length,
        skipped: report.skipped.length,
        stillQuarantined: report.stillQuarantined.length,
        missing: report.missing.length,
      },
      'opt-out file: chosen lines applied',
    );
    return report;
  }

  /** The parsed lines of exactly the scanned bytes (the rest, if the file grew since, is not read). */
  private readLines(
    bytes: AsyncIterable<Uint8Array>,
    scan: ExportScan,
    trailerLine: number | null,
    hash?: ReturnType<typeof createHash>,
  ): AsyncGenerator<ParsedExportLine> {
    const limited = limitBytes(bytes, scan.sizeBytes);
    const hashed = hash
      ? (async function* (): AsyncGenerator<Uint8Array> {
          for await (const chunk of limited) {
            hash.update(chunk);
            yield chunk;
          }
        })()
      : limited;
    return parseOptOutExport(hashed, {
      requiredAttributes: this.options.settings.pairs.map((p) => p.campaignAttribute),
      maxLineBytes: this.options.file.maxLineBytes,
      trailerLine,
    });
  }

  private addToBatch(fileName: string, batch: Batch, parsed: ParsedExportLine): void {
    batch.lastLine = Math.max(batch.lastLine, parsed.line);
    if (parsed.kind === 'quarantine') {
      batch.quarantined.push({
        fileName,
        line: parsed.line,
        reason: parsed.reason,
        column: parsed.column,
        at: this.options.clock.now(),
      });
      this.options.logger.warn(
        { file: fileName, line: parsed.line, reason: parsed.reason, column: parsed.column },
        'opt-out line quarantined',
      );
    } else if (parsed.kind === 'skip') batch.skippedLines.push(parsed.line);
    else {
      batch.rows.push({ line: parsed.line, recordKey: parsed.recordKey, attributes: parsed.attributes });
      batch.keys.add(parsed.recordKey);
    }
  }

  private async processRows(
    file: OptOutFileRecord,
    entry: OptOutFileEntry,
    scan: ExportScan,
    trailerLine: number | null,
  ): Promise<IngestReport['outcome']> {
    const hash = createHash('sha256');
    const lines = this.readLines(this.options.source.download(entry.path), scan, trailerLine, hash);
    const commit = (batch: Batch, result: BatchOutcome): Promise<void> =>
      this.options.store.optOut.commitBatch({
        fileId: file.id,
        lineCheckpoint: batch.lastLine,
        rowsApplied: result.appliedLines.length,
        rowsQuarantined: batch.quarantined.length,
        rowsSkipped: batch.skippedLines.length + result.unknownLines.length,
        quarantined: batch.quarantined,
        writes: result.writes,
        decisions: result.decisions,
      });
    let batch = emptyBatch();
    const batchSize = this.options.file.batchSize;
    for await (const parsed of lines) {
      if (parsed.line <= file.lineCheckpoint) continue;
      if (parsed.kind === 'row' && batch.keys.has(parsed.recordKey)) {
        // The same contact twice in one batch: the later row must see the earlier one's write.
        await this.flush(file.name, batch, commit);
        batch = emptyBatch();
      }
      this.addToBatch(file.name, batch, parsed);
      if (batch.rows.length + batch.quarantined.length + batch.skippedLines.length >= batchSize) {
        await this.flush(file.name, batch, commit);
        batch = emptyBatch();
        if (this.stopping) return 'interrupted';
      }
    }
    if (batch.lastLine > 0) await this.flush(file.name, batch, commit);
    if (hash.digest('hex') !== file.checksum) {
      throw new SyncError('OPTOUT_FILE_CHANGED', `opt-out file ${file.name} changed while it was processed`);
    }
    return 'processed';
  }

  /** Resolve and write one batch, then commit it with `commit` (see the class comment). */
  private async flush(
    fileName: string,
    batch: Batch,
    commit: (batch: Batch, result: BatchOutcome) => Promise<void>,
  ): Promise<void> {
    const { store, writer, clock, settings } = this.options;
    const keys = [...batch.keys];
    const states =
      keys.length > 0 ? await writer.readContacts(keys, this.columns) : new Map<string, ContactOptOutState>();
    const echoes = new Map<string, OptOutWrite>();
    if (settings.mode === 'bidirectional' && keys.length > 0) {
      for (const w of await store.optOut.latestWrites('campaign', keys))
        echoes.set(`${w.recordKey}|${w.attribute}`, w);
    }
    const applied = new Map<string, number>();
    if (keys.length > 0)
      for (const t of await store.optOut.latestFileCampaignTimes(keys))
        applied.set(`${t.recordKey}|${t.attribute}`, t.campaignChangedAt);
    const decisions: Omit<OptOutDecision, 'id'>[] = [];
    const ledger: OptOutWrite[] = [];
    const items: WorkItemInput[] = [];
    let planned: PlannedUpdate[] = [];
    const appliedLines: number[] = [];
    const unknownLines: number[] = [];
    for (const row of batch.rows) {
      const state = states.get(row.recordKey);
      if (!state) {
        unknownLines.push(row.line); // no such contact in Dynamics
        continue;
      }
      appliedLines.push(row.line);
      const update = this.planRow(fileName, row, state, echoes, applied, decisions, items);
      if (update) planned.push(update);
    }
    for (let attempt = 0; planned.length > 0; attempt += 1) {
      const conflicts: PlannedUpdate[] = [];
      const results = await writer.writeContacts(
        planned.map((p): ContactOptOutUpdate => ({
          id: p.state.id,
          values: p.values,
          ifMatch: p.state.etag,
        })),
      );
      results.forEach((result, index) => {
        const plan = planned[index]!;
        if (result.outcome === 'ok') {
          for (const [column, value] of Object.entries(plan.values)) {
            ledger.push({
              recordKey: plan.state.id,
              attribute: this.pairOf(column).campaignAttribute,
              system: 'dynamics',
              value,
              at: clock.now(),
              resultVersion: result.version,
            });
          }
        } else if (result.outcome === 'conflict') conflicts.push(plan);
        else if (result.outcome === 'failed') {
          this.options.logger.warn(
            { file: fileName, line: plan.row.line, code: result.code },
            'opt-out write failed; queued for retry',
          );
          items.push(...this.dynamicsItems(fileName, plan));
        }
      });
      planned = [];
      if (conflicts.length === 0) break;
      if (attempt >= this.conflictRetries) {
        for (const plan of conflicts) items.push(...this.dynamicsItems(fileName, plan));
        break;
      }
      // The contact changed between our read and our write: read again and decide again.
      const fresh = await writer.readContacts(
        conflicts.map((c) => c.state.id),
        this.columns,
      );
      for (const plan of conflicts) {
        const state = fresh.get(plan.state.id);
        if (!state) continue;
        const update = this.planRow(fileName, plan.row, state, echoes, applied, decisions, items);
        if (update) planned.push(update);
      }
    }
    if (items.length > 0) await store.queue.enqueue(items);
    await commit(batch, { appliedLines, unknownLines, writes: ledger, decisions });
    this.options.onBatch?.({ file: fileName, line: batch.lastLine });
  }

  /**
   * Decide every mapped attribute of one row; returns the Dynamics update it needs, if any. An
   * attribute whose Campaign time is older than one already applied from a file (`applied`) is
   * stale — a held file or a fixed line applied late — and only recorded (`superseded`), so a late
   * line never undoes a newer change, whatever the mode.
   */
  private planRow(
    fileName: string,
    row: RowLine,
    state: ContactOptOutState,
    echoes: ReadonlyMap<string, OptOutWrite>,
    applied: ReadonlyMap<string, number>,
    decisions: Omit<OptOutDecision, 'id'>[],
    items: WorkItemInput[],
  ): PlannedUpdate | null {
    const { settings, clock } = this.options;
    const values: Record<string, boolean> = {};
    const basis: Record<string, boolean | null> = {};
    for (const pair of settings.pairs) {
      const campaign = row.attributes[pair.campaignAttribute];
      if (!campaign || campaign.value === null) continue;
      const observation: OptOutObservation = {
        mode: settings.mode,
        pair,
        recordKey: row.recordKey,
        dynamicsValue: state.values[pair.dynamicsColumn] ?? null,
        dynamicsChangedAt: state.modifiedOn,
        campaignValue: campaign.value,
        campaignChangedAt: campaign.lastModified,
        at: clock.now(),
        source: 'file',
        sourceRef: `${fileName}:${row.line}`,
      };
      const echo = echoes.get(`${row.recordKey}|${pair.campaignAttribute}`);
      if (
        echo &&
        echo.value === campaign.value &&
        campaign.lastModified !== null &&
        Math.abs(campaign.lastModified - echo.at) <= this.echoToleranceMs
      ) {
        decisions.push(recordEcho(observation, 'campaign', campaign.value));
        continue;
      }
      const newer = applied.get(`${row.recordKey}|${pair.campaignAttribute}`);
      if (newer !== undefined && campaign.lastModified !== null && campaign.lastModified < newer) {
        decisions.push(recordSupersededRow(observation));
        continue;
      }
      const { decision, resolution } = decideOptOut(observation);
      decisions.push(decision);
      if (resolution.writeDynamics) {
        values[pair.dynamicsColumn] = resolution.winner;
        basis[pair.dynamicsColumn] = observation.dynamicsValue;
      }
      if (resolution.writeCampaign && settings.mode === 'bidirectional') {
        const payload: OptOutCampaignPayload = {
          contactId: row.recordKey,
          attribute: pair.campaignAttribute,
          value: resolution.winner,
          basis: campaign.value,
          sourceRef: observation.sourceRef,
        };
        items.push({
          flow: optOutCampaignFlow,
          recordKey: optOutItemKey(row.recordKey, pair.campaignAttribute),
          payload: { ...payload },
        });
      }
    }
    return Object.keys(values).length > 0 ? { row, state, values, basis } : null;
  }

  private dynamicsItems(fileName: string, plan: PlannedUpdate): WorkItemInput[] {
    return Object.entries(plan.values).map(([column, value]) => {
      const payload: OptOutDynamicsPayload = {
        contactId: plan.state.id,
        column,
        attribute: this.pairOf(column).campaignAttribute,
        value,
        basis: plan.basis[column] ?? null,
        sourceRef: `${fileName}:${plan.row.line}`,
      };
      return {
        flow: optOutDynamicsFlow,
        recordKey: optOutItemKey(plan.state.id, column),
        payload: { ...payload },
      };
    });
  }

  private pairOf(column: string): OptOutPair {
    return this.options.settings.pairs.find((p) => p.dynamicsColumn === column)!;
  }

  /**
   * Archive or delete a processed file. A file with quarantined lines is archived even when the
   * setting is `delete`: the operator needs it to fix those lines and apply them.
   */
  private async dispose(
    file: OptOutFileRecord,
    entry: OptOutFileEntry,
    options: IngestOptions,
  ): Promise<void> {
    const { source, store, logger } = this.options;
    if (options.archived) return;
    try {
      if (this.options.file.afterProcessing === 'archive' || file.quarantineOpen > 0) {
        try {
          const archived = await source.archive(entry);
          await store.optOut.markDisposed(file.id, 'archived', archived);
          return;
        } catch (error) {
          // Already archived once (the file was put back): the archived copy stays, this one goes.
          if (errorCode(error) !== 'SFTP_ALREADY_EXISTS') throw error;
        }
      }
      await source.remove(entry.path);
      await store.optOut.markDisposed(file.id, 'deleted', null);
    } catch (error) {
      logger.warn(
        { err: error, file: file.name, code: errorCode(error) },
        'opt-out file processed but not moved; will retry',
      );
    }
  }

  /**
   * A writer that still held the file open when it was archived (its size and time had not changed
   * for `stableChecks` listings and it ended with a complete line) writes the rest into the
   * archived file. So files archived in the last day are listed again in the archive folder, and one
   * that changed is ingested there: its new lines carry on from where the archived version ended.
   */
  private async recheckArchived(): Promise<void> {
    const { store, source, clock } = this.options;
    const recent = await store.optOut.archivedSince(clock.now() - archiveRecheckMs, 100);
    if (recent.length === 0) return;
    // The newest entry per name is the version to compare with.
    const newest = new Map<string, OptOutFileRecord>();
    for (const file of recent) {
      const seen = newest.get(file.name);
      if (seen === undefined || Number(file.id) > Number(seen.id)) newest.set(file.name, file);
    }
    let listed: OptOutFileEntry[];
    try {
      listed = await source.listArchived();
    } catch (error) {
      this.options.logger.warn({ err: error, code: errorCode(error) }, 'archive folder not listed');
      return;
    }
    for (const entry of listed) {
      const file = newest.get(entry.name);
      if (!file || (file.sizeBytes === entry.sizeBytes && file.modifiedAt === entry.modifiedAt)) continue;
      if (this.stopping) return;
      this.options.logger.warn(
        { file: entry.name, sizeBytes: entry.sizeBytes, wasBytes: file.sizeBytes },
        'archived opt-out file changed after it was processed; reading it again',
      );
      await this.ingestLogged(entry, { archived: true });
    }
  }

  /** Raise an alert for every file problem (at most once per `realertMs` each). */
  private async checkFileProblems(): Promise<void> {
    for (const p of await this.fileProblems()) {
      await this.raise({
        kind: 'opt-out-file-problem',
        severity: 'critical',
        subject: `${p.problem}:${p.file}`,
        message: p.detail,
      });
    }
  }

  /** Export files that need the operator (see {@link readOptOutFileProblems}). */
  fileProblems(): Promise<OptOutFileProblem[]> {
    return readOptOutFileProblems(this.options.store, this.options.clock, this.options.file);
  }

  /** Remove archived files older than the retention. */
  private async applyRetention(): Promise<void> {
    const { store, source, clock, logger } = this.options;
    const due = await store.optOut.archivedBefore(clock.now() - this.options.file.retentionDays * dayMs, 100);
    for (const file of due) {
      try {
        if (file.archivedPath) await source.remove(file.archivedPath);
      } catch (error) {
        if (errorCode(error) !== 'SFTP_NOT_FOUND') {
          logger.warn(
            { err: error, file: file.name, code: errorCode(error) },
            'archived opt-out file not removed',
          );
          continue;
        }
      }
      await store.optOut.markDisposed(file.id, 'deleted', null);
      logger.info(
        { file: file.name, retentionDays: this.options.file.retentionDays },
        'archived opt-out file removed',
      );
    }
  }

  private async checkUsage(): Promise<void> {
    try {
      this.usageReport = await this.options.source.usage();
    } catch (error) {
      this.options.logger.warn({ err: error, code: errorCode(error) }, 'SFTP usage not measured');
      return;
    }
    const quota = this.options.quotaBytes;
    if (!quota) return;
    const share = this.usageReport.usedBytes / quota;
    const level = share >= 0.9 ? 90 : share >= 0.8 ? 80 : null;
    if (level === null) return;
    await this.raise({
      kind: 'sftp-usage',
      severity: level === 90 ? 'critical' : 'warning',
      // The same subject as the health model's; the severity makes 90 % news right after 80 %.
      subject: 'sftp',
      message: `Campaign SFTP storage is ${Math.floor(share * 100)} % used (${this.usageReport.usedBytes} of ${quota} bytes). Processed files are removed after ${this.options.file.retentionDays} days; lower the retention or free space.`,
    });
  }

  /** When the newest file arrived and whether that is longer ago than `stalenessHours`. */
  freshness(): Promise<OptOutFreshness> {
    return readOptOutFreshness(this.options.store, this.options.clock, this.options.file.stalenessHours);
  }

  private async checkFreshness(): Promise<void> {
    const freshness = await this.freshness();
    if (!freshness.stale) return;
    await this.raise({
      kind: 'opt-out-file-stale',
      severity: 'critical',
      subject: 'opt-out-export',
      message:
        freshness.lastFileAt === null
          ? `No opt-out export file has arrived on the Campaign SFTP server within ${freshness.stalenessHours} h. Opt-outs made in Campaign are not reaching Dynamics: check (and restart) the Campaign export workflow.`
          : `No new opt-out export file for more than ${freshness.stalenessHours} h (last ${new Date(freshness.lastFileAt).toISOString()}). Opt-outs made in Campaign are not reaching Dynamics: check (and restart) the Campaign export workflow.`,
    });
  }

  private async raise(alert: Omit<Alert, 'at'>): Promise<void> {
    const now = this.options.clock.now();
    const key = `${alert.kind}:${alert.subject}:${alert.severity}`;
    const last = this.lastAlerts.get(key);
    if (last !== undefined && now - last < this.realertMs) return;
    this.lastAlerts.set(key, now);
    try {
      await this.options.alerts.raise({ ...alert, at: now });
    } catch (error) {
      this.options.logger.warn({ err: error, alert: alert.kind }, 'raising an alert failed');
    }
  }
}

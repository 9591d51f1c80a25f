import type { Duty } from '../duty.js';
import { createHash } from 'node:crypto';
import { errorCode, SyncError } from '../../core/errors.js';
import type { OptOutFileEntry, OptOutStorageUsage } from '../../core/ports/opt-out-file-source.js';
import type { OptOutFileRecord } from '../../core/ports/opt-out-store.js';
import type { SourceService } from '../sync-engine.js';
import {
  emptyBatch,
  OptOutBatchWriter,
  type Batch,
  type BatchOutcome,
  type OptOutBatchWriterOptions,
} from './opt-out-batch-writer.js';
import { OptOutFolderKeeper, type OptOutFolderKeeperOptions } from './opt-out-folder-keeper.js';
import { parseOptOutExport, type ParsedExportLine, type QuarantineReason } from './opt-out-export-parser.js';
import { assessExportScan, scanOptOutExport, type ExportScan } from './opt-out-export-scan.js';
import {
  noteFileArrival,
  noteWatching,
  type OptOutFileProblem,
  type OptOutFreshness,
} from './opt-out-file-problems.js';
import { limitBytes } from './opt-out-line-reader.js';
import { RunRecorder } from '../runs/run-recorder.js';

export interface OptOutFileIngestorOptions extends OptOutBatchWriterOptions, OptOutFolderKeeperOptions {
  /** Lock owner (the worker id); one process ingests at a time. */
  owner: string;
  /**
   * The deployment's ingest duty (`optout:ingest`), held by one worker; the service polls only
   * while it holds it. Without it (a one-off `dcsync optout ingest`), each poll takes the lock itself.
   */
  duty?: Duty | undefined;
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

const lockName = 'optout:ingest';
const dayMs = 86_400_000;
/** Files archived this recently are listed again in the archive folder, in case they grew there. */
const archiveRecheckMs = dayMs;

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
export class OptOutFileIngestor implements SourceService {
  private readonly batches: OptOutBatchWriter;
  private readonly folder: OptOutFolderKeeper;
  /** Each file processed is a run (`opt-out-file`, subject: the file name). */
  private readonly runs: RunRecorder;
  private readonly observations = new Map<string, { size: number; modifiedAt: number; count: number }>();
  private waiting = 0;
  private polls = 0;
  private busy = false;
  private running = false;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;

  constructor(private readonly options: OptOutFileIngestorOptions) {
    this.batches = new OptOutBatchWriter(options);
    this.folder = new OptOutFolderKeeper(options);
    this.runs = new RunRecorder(options.store.runs, options.logger);
  }

  /** Last measured SFTP usage (null before the first poll). */
  get usage(): OptOutStorageUsage | null {
    return this.folder.usage;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.options.duty?.start();
    this.loop = this.run();
  }

  /** Stop polling; a file being processed stops after its current batch and resumes next time. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopping = true;
    this.wakeUp?.();
    await this.loop;
    if (this.options.duty) await this.options.duty.stop();
    else await this.options.store.locks.release(lockName, this.options.owner).catch(() => undefined);
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
      const duty = this.options.duty;
      // Called on its own (tests, a one-off ingest) as well as by the loop: take or renew the duty here.
      if (duty ? !(await duty.tryNow()) : !(await store.locks.tryAcquire(lockName, owner, lockTtl))) return;
      await noteWatching(store, clock.now());
      const entries = await this.options.source.list();
      const complete = await this.trackCompleteness(entries);
      for (const entry of complete) {
        if (this.stopping) break;
        if (!duty) await store.locks.renew(lockName, owner, lockTtl);
        else if (!duty.held) break;
        await this.ingestLogged(entry, {});
      }
      if (!this.stopping) await this.recheckArchived();
      await this.folder.look();
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
    await noteFileArrival(this.options.store, this.options.clock.now());
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
    await this.runs.begin({
      flow: 'optout',
      kind: 'opt-out-file',
      trigger: options.force ? 'operator' : 'file-arrived',
      subject: file.name,
    });
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
      await this.runs.end('opt-out-file', file.name, 'failed', { detail: failedCode });
      logger.error({ err: error, file: file.name, code: failedCode }, 'opt-out file failed');
      return { outcome: 'failed', file: (await store.optOut.findFile(identity)) ?? file };
    }
    const after = (await store.optOut.findFile(identity)) ?? file;
    if (outcome === 'processed') {
      await store.optOut.finishFile(file.id, { status: 'processed' });
      const read = after.rowsApplied + after.rowsQuarantined + after.rowsSkipped;
      await this.runs.end('opt-out-file', file.name, 'succeeded', {
        total: read,
        // Applied lines are decided (and written where the rule said so); the others are skipped.
        counts: {
          read,
          updated: after.rowsApplied,
          skipped: { quarantined: after.rowsQuarantined, 'not-synced': after.rowsSkipped },
        },
      });
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
        await this.batches.flush(entry.name, batch, commit);
        batch = emptyBatch();
      }
      this.batches.add(entry.name, batch, parsed);
      if (batch.rows.length + batch.skippedLines.length >= this.options.file.batchSize) {
        await this.batches.flush(entry.name, batch, commit);
        batch = emptyBatch();
      }
    }
    if (batch.rows.length + batch.skippedLines.length > 0)
      await this.batches.flush(entry.name, batch, commit);
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
        await this.batches.flush(file.name, batch, commit);
        batch = emptyBatch();
      }
      this.batches.add(file.name, batch, parsed);
      if (batch.rows.length + batch.quarantined.length + batch.skippedLines.length >= batchSize) {
        await this.batches.flush(file.name, batch, commit);
        batch = emptyBatch();
        if (this.stopping) return 'interrupted';
      }
    }
    if (batch.lastLine > 0) await this.batches.flush(file.name, batch, commit);
    if (hash.digest('hex') !== file.checksum) {
      throw new SyncError('OPTOUT_FILE_CHANGED', `opt-out file ${file.name} changed while it was processed`);
    }
    return 'processed';
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

  /** Export files that need the operator. */
  fileProblems(): Promise<OptOutFileProblem[]> {
    return this.folder.fileProblems();
  }

  /** When the newest file arrived and whether that is longer ago than `stalenessHours`. */
  freshness(): Promise<OptOutFreshness> {
    return this.folder.freshness();
  }
}

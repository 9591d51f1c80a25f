import { createHash } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import { errorCode, isRetryable, SyncError } from '../../core/errors.js';
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
  OptOutDecision,
  OptOutFileRecord,
  OptOutWrite,
  QuarantinedRow,
} from '../../core/ports/opt-out-store.js';
import type { StateStore, WorkItemInput } from '../../core/ports/state-store.js';
import type { EngineCompanion } from '../sync-engine.js';
import { decideOptOut, recordEcho, type OptOutObservation } from './opt-out-decision.js';
import { parseOptOutExport, type ParsedExportLine } from './opt-out-export-parser.js';
import {
  optOutCampaignFlow,
  optOutDynamicsFlow,
  optOutItemKey,
  type OptOutPair,
  type OptOutSettings,
} from './opt-out-settings.js';
import type { OptOutCampaignPayload, OptOutDynamicsPayload } from './opt-out-work-applier.js';

/** `flows.optOut.file` after defaults. */
export interface OptOutFileSettings {
  pollIntervalMs: number;
  stableChecks: number;
  stalenessHours: number;
  retentionDays: number;
  afterProcessing: 'archive' | 'delete';
  batchSize: number;
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
  outcome: 'processed' | 'already-processed' | 'interrupted' | 'failed';
  file: OptOutFileRecord;
}

export interface IngestOptions {
  /** Process again even if the ledger says processed (`dcsync optout ingest --force`). @default false */
  force?: boolean;
  /** Archive or delete it afterwards, per configuration. @default true */
  dispose?: boolean;
}

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
  quarantined: Omit<QuarantinedRow, 'id'>[];
  skipped: number;
  lastLine: number;
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

function emptyBatch(): Batch {
  return { rows: [], keys: new Set(), quarantined: [], skipped: 0, lastLine: 0 };
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

/** SHA-256 and size of a stream. */
export async function hashBytes(
  bytes: AsyncIterable<Uint8Array>,
): Promise<{ checksum: string; sizeBytes: number }> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of bytes) {
    hash.update(chunk);
    sizeBytes += chunk.length;
  }
  return { checksum: hash.digest('hex'), sizeBytes };
}

/**
 * Campaign→Dynamics opt-outs (flow F4): polls the export folder, waits until a file is complete
 * (size and time unchanged across `stableChecks` listings), processes each file once (ledger of
 * name, size and SHA-256), streams its rows in batches — read the contacts' current values, resolve
 * each mapped attribute by the mode, write Dynamics in one `$batch` with `If-Match` — and commits
 * each batch's line checkpoint, quarantined rows, writes and decisions atomically, so a crash
 * resumes after the last committed batch without re-applying rows. Writes that fail go to the
 * durable `optout:dynamics` flow (retries, dead letters). Then it archives or deletes the file,
 * removes archived files after the retention, and alerts on SFTP usage (80 %, 90 %) and on a
 * missing file (no new file within `stalenessHours`).
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
   * One poll: list, process every complete file in name order, apply the retention, measure
   * usage, check freshness. Another process holding the ingest lock makes this a no-op.
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
        try {
          await this.ingest(entry);
        } catch (error) {
          // A transient failure (connection, timeout, 5xx) leaves the file `processing`: the next
          // poll resumes it after its last committed batch.
          this.options.logger.error(
            { err: error, file: entry.name, code: errorCode(error), retryable: isRetryable(error) },
            'opt-out file not finished; will resume',
          );
        }
      }
      await this.applyRetention();
      await this.checkUsage();
      await this.checkFreshness();
    } finally {
      this.polls += 1;
      this.busy = false;
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
   */
  async ingest(entry: OptOutFileEntry, options: IngestOptions = {}): Promise<IngestReport> {
    const { store, source, logger } = this.options;
    const dispose = options.dispose ?? true;
    const identity = { name: entry.name, ...(await hashBytes(source.download(entry.path))) };
    const existing = await store.optOut.findFile(identity);
    if (existing && existing.status !== 'processing' && !options.force) {
      if (existing.status === 'processed' && dispose) await this.dispose(existing, entry);
      return { outcome: existing.status === 'processed' ? 'already-processed' : 'failed', file: existing };
    }
    if (existing && existing.status !== 'processing') await store.optOut.restartFile(existing.id);
    const { file, created } = await store.optOut.beginFile({
      ...identity,
      path: entry.path,
      modifiedAt: entry.modifiedAt,
    });
    logger.info(
      { file: file.name, sizeBytes: file.sizeBytes, resumeAfterLine: file.lineCheckpoint, created },
      created ? 'opt-out file: processing' : 'opt-out file: resuming',
    );
    let outcome: IngestReport['outcome'];
    try {
      outcome = await this.processRows(file, entry);
    } catch (error) {
      if (error instanceof SyncError && !error.retryable && error.code.startsWith('OPTOUT_FILE_')) {
        await store.optOut.finishFile(file.id, { status: 'failed', errorCode: error.code });
        logger.error({ file: file.name, code: error.code }, error.message);
        return { outcome: 'failed', file: (await store.optOut.findFile(identity)) ?? file };
      }
      throw error;
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
      if (dispose) await this.dispose(after, entry);
    }
    return { outcome, file: (await store.optOut.findFile(identity)) ?? after };
  }

  private async processRows(
    file: OptOutFileRecord,
    entry: OptOutFileEntry,
  ): Promise<IngestReport['outcome']> {
    const hash = createHash('sha256');
    const hashed = async function* (bytes: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
      for await (const chunk of bytes) {
        hash.update(chunk);
        yield chunk;
      }
    };
    const lines = parseOptOutExport(hashed(this.options.source.download(entry.path)), {
      requiredAttributes: this.options.settings.pairs.map((p) => p.campaignAttribute),
    });
    let batch = emptyBatch();
    const batchSize = this.options.file.batchSize;
    for await (const parsed of lines) {
      if (parsed.line <= file.lineCheckpoint) continue;
      if (parsed.kind === 'row' && batch.keys.has(parsed.recordKey)) {
        // The same contact twice in one batch: the later row must see the earlier one's write.
        await this.flush(file, batch);
        batch = emptyBatch();
      }
      batch.lastLine = Math.max(batch.lastLine, parsed.line);
      if (parsed.kind === 'quarantine') {
        batch.quarantined.push({
          fileName: file.name,
          line: parsed.line,
          reason: parsed.reason,
          column: parsed.column,
          at: this.options.clock.now(),
        });
        this.options.logger.warn(
          { file: file.name, line: parsed.line, reason: parsed.reason, column: parsed.column },
          'opt-out row quarantined',
        );
      } else if (parsed.kind === 'skip') batch.skipped += 1;
      else {
        batch.rows.push({ line: parsed.line, recordKey: parsed.recordKey, attributes: parsed.attributes });
        batch.keys.add(parsed.recordKey);
      }
      if (batch.rows.length + batch.quarantined.length + batch.skipped >= batchSize) {
        await this.flush(file, batch);
        batch = emptyBatch();
        if (this.stopping) return 'interrupted';
      }
    }
    if (batch.lastLine > 0) await this.flush(file, batch);
    if (hash.digest('hex') !== file.checksum) {
      throw new SyncError('OPTOUT_FILE_CHANGED', `opt-out file ${file.name} changed while it was processed`);
    }
    return 'processed';
  }

  /** Resolve, write and commit one batch (see the class comment). */
  private async flush(file: OptOutFileRecord, batch: Batch): Promise<void> {
    const { store, writer, clock, settings } = this.options;
    const keys = [...batch.keys];
    const states =
      keys.length > 0 ? await writer.readContacts(keys, this.columns) : new Map<string, ContactOptOutState>();
    const echoes = new Map<string, OptOutWrite>();
    if (settings.mode === 'bidirectional' && keys.length > 0) {
      for (const w of await store.optOut.latestWrites('campaign', keys))
        echoes.set(`${w.recordKey}|${w.attribute}`, w);
    }
    const decisions: Omit<OptOutDecision, 'id'>[] = [];
    const ledger: OptOutWrite[] = [];
    const items: WorkItemInput[] = [];
    let planned: PlannedUpdate[] = [];
    let applied = 0;
    let skipped = batch.skipped;
    for (const row of batch.rows) {
      const state = states.get(row.recordKey);
      if (!state) {
        skipped += 1; // no such contact in Dynamics
        continue;
      }
      applied += 1;
      const update = this.planRow(file, row, state, echoes, decisions, items);
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
            { file: file.name, line: plan.row.line, code: result.code },
            'opt-out write failed; queued for retry',
          );
          items.push(...this.dynamicsItems(file, plan));
        }
      });
      planned = [];
      if (conflicts.length === 0) break;
      if (attempt >= this.conflictRetries) {
        for (const plan of conflicts) items.push(...this.dynamicsItems(file, plan));
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
        const update = this.planRow(file, plan.row, state, echoes, decisions, items);
        if (update) planned.push(update);
      }
    }
    if (items.length > 0) await store.queue.enqueue(items);
    await store.optOut.commitBatch({
      fileId: file.id,
      lineCheckpoint: batch.lastLine,
      rowsApplied: applied,
      rowsQuarantined: batch.quarantined.length,
      rowsSkipped: skipped,
      quarantined: batch.quarantined,
      writes: ledger,
      decisions,
    });
    this.options.onBatch?.({ file: file.name, line: batch.lastLine });
  }

  /** Decide every mapped attribute of one row; returns the Dynamics update it needs, if any. */
  private planRow(
    file: OptOutFileRecord,
    row: RowLine,
    state: ContactOptOutState,
    echoes: ReadonlyMap<string, OptOutWrite>,
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
        sourceRef: `${file.name}:${row.line}`,
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

  private dynamicsItems(file: OptOutFileRecord, plan: PlannedUpdate): WorkItemInput[] {
    return Object.entries(plan.values).map(([column, value]) => {
      const payload: OptOutDynamicsPayload = {
        contactId: plan.state.id,
        column,
        attribute: this.pairOf(column).campaignAttribute,
        value,
        basis: plan.basis[column] ?? null,
        sourceRef: `${file.name}:${plan.row.line}`,
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

  private async dispose(file: OptOutFileRecord, entry: OptOutFileEntry): Promise<void> {
    const { source, store, logger } = this.options;
    try {
      if (this.options.file.afterProcessing === 'archive') {
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
      // The level is part of the subject, so 90 % alerts even right after an 80 % alert.
      subject: `sftp-${level}`,
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
    const key = `${alert.kind}:${alert.subject}`;
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

import { StoreError } from '../../core/errors.js';
import type {
  BeginFileOptions,
  NewQuarantinedRow,
  OptOutBatchCommit,
  OptOutDecision,
  OptOutFileDisposition,
  OptOutFileFinish,
  OptOutFileIdentity,
  OptOutFileInput,
  OptOutFileProblemRows,
  OptOutFileRecord,
  OptOutStore,
  OptOutSystem,
  OptOutWrite,
  QuarantinedRow,
  QuarantineResolutionInput,
} from '../../core/ports/opt-out-store.js';
import { quarantineResolutions } from '../../core/ports/opt-out-store.js';
import type { Page, PageRequest } from '../../core/ports/state-store.js';
import { selectPage } from './page-cursor.js';
import type { SqlExecutor, SqlParam } from './sql-driver.js';
import { chunk, isStoreId, placeholders, whereAll } from './sql-list.js';
import type { SqlStoreContext } from './sql-store-context.js';
import { requireText, requireTime } from './staged-change-input.js';

type Row = Record<string, unknown>;

const fileColumns =
  'id, name, path, size_bytes, checksum, modified_at, status, line_checkpoint, rows_applied, rows_quarantined, ' +
  'rows_skipped, started_at, finished_at, disposition, archived_path, disposed_at, error_code, attempts, ' +
  'dismissed_at, (SELECT COUNT(*) FROM opt_out_quarantine q WHERE q.file_name = opt_out_files.name ' +
  'AND q.resolved_at IS NULL) AS quarantine_open';
const quarantineColumns = 'id, file_name, line, reason, column_name, at, resolved_at, resolution';
/** Entries that may need the operator (partial index `opt_out_files_open`). */
const openFileStates = "status IN ('processing', 'held', 'failed') AND dismissed_at IS NULL";
const decisionColumns =
  'at, record_key, dynamics_column, campaign_attribute, dynamics_value, dynamics_changed_at, campaign_value, ' +
  'campaign_changed_at, winner, winning_side, rule, mode, source, source_ref, action';
const rowsPerStatement = 200;
const keysPerStatement = 500;

/**
 * The opt-out ledgers (`opt_out_files`, `opt_out_quarantine`, `opt_out_writes`,
 * `opt_out_decisions`, migrations 0002 and 0005). A batch of a file commits its checkpoint,
 * counters, quarantined rows, writes and decisions in one transaction, so a crash never
 * half-records one; so does the re-application of quarantined lines.
 */
export class SqlOptOutStore implements OptOutStore {
  constructor(private readonly ctx: SqlStoreContext) {}

  async beginFile(
    input: OptOutFileInput,
    options: BeginFileOptions = {},
  ): Promise<{ file: OptOutFileRecord; created: boolean }> {
    requireText(input.name, 'opt-out file name');
    requireText(input.path, `opt-out file ${input.name}: path`);
    requireText(input.checksum, `opt-out file ${input.name}: checksum`);
    requireCount(input.sizeBytes, `opt-out file ${input.name}: sizeBytes`);
    const supersedes = options.supersedes ?? null;
    if (supersedes !== null) requireFileId(supersedes);
    const now = this.ctx.clock.now();
    const inserted = await this.ctx.driver.transaction('opt-out file begin', async (tx) => {
      const count = await tx.run(
        'INSERT INTO opt_out_files (name, path, size_bytes, checksum, modified_at, status, started_at) ' +
          "VALUES (?, ?, ?, ?, ?, 'processing', ?) ON CONFLICT (name, size_bytes, checksum) DO NOTHING",
        [input.name, input.path, input.sizeBytes, input.checksum, input.modifiedAt, now],
      );
      if (count === 0 || supersedes === null) return count;
      const [earlier] = await tx.all(
        'SELECT name, line_checkpoint, rows_applied, rows_quarantined, rows_skipped FROM opt_out_files ' +
          "WHERE id = ? AND status <> 'superseded'",
        [supersedes],
      );
      if (earlier === undefined || String(earlier.name) !== input.name) {
        throw new StoreError(
          'STORE_INVALID_INPUT',
          `opt-out file ${input.name} cannot supersede entry ${supersedes}: no such current entry of that name`,
        );
      }
      await tx.run(
        'UPDATE opt_out_files SET line_checkpoint = ?, rows_applied = ?, rows_quarantined = ?, rows_skipped = ? ' +
          'WHERE name = ? AND size_bytes = ? AND checksum = ?',
        [
          Number(earlier.line_checkpoint),
          Number(earlier.rows_applied),
          Number(earlier.rows_quarantined),
          Number(earlier.rows_skipped),
          input.name,
          input.sizeBytes,
          input.checksum,
        ],
      );
      await tx.run("UPDATE opt_out_files SET status = 'superseded', finished_at = ? WHERE id = ?", [
        now,
        supersedes,
      ]);
      return count;
    });
    const file = await this.findFile(input);
    if (file === null)
      throw new StoreError('STORE_QUERY_FAILED', `opt-out file ${input.name} vanished after insert`);
    return { file, created: inserted > 0 };
  }

  async findFile(identity: OptOutFileIdentity): Promise<OptOutFileRecord | null> {
    const rows = await this.ctx.driver.all(
      `SELECT ${fileColumns} FROM opt_out_files WHERE name = ? AND size_bytes = ? AND checksum = ?`,
      [identity.name, identity.sizeBytes, identity.checksum],
    );
    return rows[0] === undefined ? null : toFile(rows[0]);
  }

  async filesNamed(name: string): Promise<OptOutFileRecord[]> {
    const rows = await this.ctx.driver.all(
      `SELECT ${fileColumns} FROM opt_out_files WHERE name = ? ORDER BY id DESC`,
      [name],
    );
    return rows.map(toFile);
  }

  async commitBatch(commit: OptOutBatchCommit): Promise<void> {
    const id = requireFileId(commit.fileId);
    requireCount(commit.lineCheckpoint, 'opt-out batch lineCheckpoint');
    await this.ctx.driver.transaction('opt-out batch', async (tx) => {
      const changed = await tx.run(
        'UPDATE opt_out_files SET line_checkpoint = ?, rows_applied = rows_applied + ?, ' +
          'rows_quarantined = rows_quarantined + ?, rows_skipped = rows_skipped + ? ' +
          "WHERE id = ? AND status = 'processing' AND line_checkpoint <= ?",
        [
          commit.lineCheckpoint,
          commit.rowsApplied,
          commit.rowsQuarantined,
          commit.rowsSkipped,
          id,
          commit.lineCheckpoint,
        ],
      );
      if (changed === 0) {
        throw new StoreError(
          'STORE_INVALID_INPUT',
          `opt-out file ${id} is not processing at or before line ${commit.lineCheckpoint}`,
        );
      }
      await insertQuarantine(tx, commit.quarantined);
      await upsertWrites(tx, commit.writes);
      await insertDecisions(tx, commit.decisions);
    });
  }

  async finishFile(fileId: string, finish: OptOutFileFinish): Promise<void> {
    await this.ctx.driver.run(
      'UPDATE opt_out_files SET status = ?, finished_at = ?, error_code = ? WHERE id = ?',
      [finish.status, this.ctx.clock.now(), finish.errorCode ?? null, requireFileId(fileId)],
    );
  }

  async recordAttempt(fileId: string, errorCode: string): Promise<number> {
    const id = requireFileId(fileId);
    requireText(errorCode, 'opt-out attempt error code');
    return this.ctx.driver.transaction('opt-out attempt', async (tx) => {
      await tx.run('UPDATE opt_out_files SET attempts = attempts + 1, error_code = ? WHERE id = ?', [
        errorCode,
        id,
      ]);
      const [row] = await tx.all('SELECT attempts FROM opt_out_files WHERE id = ?', [id]);
      if (row === undefined) throw new StoreError('STORE_INVALID_INPUT', `opt-out file ${id} names no file`);
      return Number(row.attempts);
    });
  }

  async dismissFile(fileId: string): Promise<void> {
    await this.ctx.driver.run(
      "UPDATE opt_out_files SET dismissed_at = ? WHERE id = ? AND status IN ('held', 'failed')",
      [this.ctx.clock.now(), requireFileId(fileId)],
    );
  }

  async restartFile(fileId: string): Promise<void> {
    await this.ctx.driver.run(
      "UPDATE opt_out_files SET status = 'processing', line_checkpoint = 0, rows_applied = 0, rows_quarantined = 0, " +
        'rows_skipped = 0, finished_at = NULL, error_code = NULL, attempts = 0, dismissed_at = NULL, ' +
        'started_at = ? WHERE id = ?',
      [this.ctx.clock.now(), requireFileId(fileId)],
    );
  }

  async markDisposed(
    fileId: string,
    disposition: Exclude<OptOutFileDisposition, 'kept'>,
    archivedPath: string | null,
  ): Promise<void> {
    await this.ctx.driver.run(
      'UPDATE opt_out_files SET disposition = ?, archived_path = COALESCE(?, archived_path), disposed_at = ? WHERE id = ?',
      [disposition, archivedPath, this.ctx.clock.now(), requireFileId(fileId)],
    );
  }

  listFiles(page: PageRequest): Promise<Page<OptOutFileRecord>> {
    return selectPage(
      this.ctx.driver,
      {
        label: 'opt-out files',
        table: 'opt_out_files',
        columns: fileColumns,
        where: whereAll([]),
        newestFirst: true,
      },
      page,
      toFile,
    );
  }

  async archivedBefore(before: number, limit: number): Promise<OptOutFileRecord[]> {
    requireTime(before, 'archivedBefore before');
    const rows = await this.ctx.driver.all(
      `SELECT ${fileColumns} FROM opt_out_files WHERE disposition = 'archived' AND disposed_at < ? ORDER BY disposed_at, id LIMIT ?`,
      [before, limit],
    );
    return rows.map(toFile);
  }

  async archivedSince(since: number, limit: number): Promise<OptOutFileRecord[]> {
    requireTime(since, 'archivedSince since');
    const rows = await this.ctx.driver.all(
      `SELECT ${fileColumns} FROM opt_out_files WHERE disposition = 'archived' AND disposed_at >= ? ` +
        "AND status <> 'superseded' ORDER BY disposed_at, id LIMIT ?",
      [since, limit],
    );
    return rows.map(toFile);
  }

  async lastFileStartedAt(): Promise<number | null> {
    const rows = await this.ctx.driver.all<{ latest: number | string | null }>(
      'SELECT MAX(started_at) AS latest FROM opt_out_files',
    );
    const latest = rows[0]?.latest;
    return latest === null || latest === undefined ? null : Number(latest);
  }

  listQuarantine(
    filter: { fileName?: string | undefined; open?: boolean | undefined },
    page: PageRequest,
  ): Promise<Page<QuarantinedRow>> {
    return selectPage(
      this.ctx.driver,
      {
        label: 'opt-out quarantine',
        table: 'opt_out_quarantine',
        columns: quarantineColumns,
        where: whereAll([
          filter.fileName === undefined ? null : ['file_name = ?', filter.fileName],
          filter.open === true ? ['resolved_at IS NULL'] : null,
        ]),
      },
      page,
      toQuarantinedRow,
    );
  }

  async resolveQuarantine(input: QuarantineResolutionInput): Promise<number[]> {
    requireText(input.fileName, 'opt-out quarantine file name');
    if (!quarantineResolutions.includes(input.resolution))
      throw new StoreError(
        'STORE_INVALID_INPUT',
        `quarantine resolution ${String(input.resolution)} is unknown`,
      );
    const lines = [...new Set(input.lines)];
    for (const line of lines) requireCount(line, 'quarantined line');
    const now = this.ctx.clock.now();
    return this.ctx.driver.transaction('opt-out quarantine resolution', async (tx) => {
      const resolved: number[] = [];
      for (const part of chunk(lines, keysPerStatement)) {
        const open = await tx.all(
          'SELECT line FROM opt_out_quarantine WHERE file_name = ? AND resolved_at IS NULL ' +
            `AND line IN (${placeholders(part.length)})`,
          [input.fileName, ...part],
        );
        if (open.length === 0) continue;
        await tx.run(
          'UPDATE opt_out_quarantine SET resolved_at = ?, resolution = ? WHERE file_name = ? AND resolved_at IS NULL ' +
            `AND line IN (${placeholders(part.length)})`,
          [now, input.resolution, input.fileName, ...part],
        );
        resolved.push(...open.map((row) => Number(row.line)));
      }
      await upsertWrites(tx, input.writes ?? []);
      await insertDecisions(tx, input.decisions ?? []);
      return resolved.sort((a, b) => a - b);
    });
  }

  async fileProblems(limit: number): Promise<OptOutFileProblemRows> {
    requireCount(limit, 'opt-out file problems limit');
    const files = await this.ctx.driver.all(
      `SELECT ${fileColumns} FROM opt_out_files WHERE ${openFileStates} ORDER BY id LIMIT ?`,
      [limit],
    );
    const quarantined = await this.ctx.driver.all<{
      file_name: string;
      lines: number | string;
      first_line: number | string;
    }>(
      'SELECT file_name, COUNT(*) AS lines, MIN(line) AS first_line FROM opt_out_quarantine ' +
        'WHERE resolved_at IS NULL GROUP BY file_name ORDER BY file_name LIMIT ?',
      [limit],
    );
    return {
      files: files.map(toFile),
      quarantined: quarantined.map((row) => ({
        fileName: String(row.file_name),
        lines: Number(row.lines),
        firstLine: Number(row.first_line),
      })),
    };
  }

  async recordWrites(writes: readonly OptOutWrite[]): Promise<void> {
    if (writes.length === 0) return;
    await this.ctx.driver.transaction('opt-out writes', (tx) => upsertWrites(tx, writes));
  }

  async latestWrites(system: OptOutSystem, recordKeys: readonly string[]): Promise<OptOutWrite[]> {
    const out: OptOutWrite[] = [];
    for (const keys of chunk([...new Set(recordKeys)], keysPerStatement)) {
      const rows = await this.ctx.driver.all(
        'SELECT system, record_key, attribute, value, at, result_version FROM opt_out_writes ' +
          `WHERE system = ? AND record_key IN (${placeholders(keys.length)}) ORDER BY record_key, attribute`,
        [system, ...keys],
      );
      out.push(
        ...rows.map((row) => ({
          system: row.system as OptOutSystem,
          recordKey: String(row.record_key),
          attribute: String(row.attribute),
          value: Number(row.value) === 1,
          at: Number(row.at),
          resultVersion: readText(row.result_version),
        })),
      );
    }
    return out;
  }

  async recordDecisions(decisions: readonly Omit<OptOutDecision, 'id'>[]): Promise<void> {
    if (decisions.length === 0) return;
    await this.ctx.driver.transaction('opt-out decisions', (tx) => insertDecisions(tx, decisions));
  }

  async latestFileCampaignTimes(
    recordKeys: readonly string[],
  ): Promise<{ recordKey: string; attribute: string; campaignChangedAt: number }[]> {
    const out: { recordKey: string; attribute: string; campaignChangedAt: number }[] = [];
    for (const keys of chunk([...new Set(recordKeys)], keysPerStatement)) {
      const rows = await this.ctx.driver.all(
        'SELECT record_key, campaign_attribute, MAX(campaign_changed_at) AS latest FROM opt_out_decisions ' +
          `WHERE record_key IN (${placeholders(keys.length)}) AND source = 'file' AND campaign_changed_at IS NOT NULL ` +
          'GROUP BY record_key, campaign_attribute ORDER BY record_key, campaign_attribute',
        keys,
      );
      out.push(
        ...rows.map((row) => ({
          recordKey: String(row.record_key),
          attribute: String(row.campaign_attribute),
          campaignChangedAt: Number(row.latest),
        })),
      );
    }
    return out;
  }

  listDecisions(
    filter: { recordKey?: string | undefined },
    page: PageRequest,
  ): Promise<Page<OptOutDecision>> {
    return selectPage(
      this.ctx.driver,
      {
        label: 'opt-out decisions',
        table: 'opt_out_decisions',
        columns: `id, ${decisionColumns}`,
        where: whereAll([filter.recordKey === undefined ? null : ['record_key = ?', filter.recordKey]]),
        newestFirst: true,
      },
      page,
      toDecision,
    );
  }
}

function requireFileId(id: string): string {
  if (!isStoreId(id))
    throw new StoreError('STORE_INVALID_INPUT', `opt-out file id "${String(id)}" names no file`);
  return id;
}

function requireCount(value: unknown, field: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new StoreError('STORE_INVALID_INPUT', `${field} must be a non-negative integer`);
  }
}

const flag = (value: boolean | null): number | null => (value === null ? null : value ? 1 : 0);
const readFlag = (value: unknown): boolean | null => (value === null ? null : Number(value) === 1);
const readTime = (value: unknown): number | null => (value === null ? null : Number(value));
const readText = (value: unknown): string | null => (typeof value === 'string' ? value : null);

async function insertQuarantine(executor: SqlExecutor, rows: readonly NewQuarantinedRow[]): Promise<void> {
  for (const part of chunk(rows, rowsPerStatement)) {
    // A file re-ingested by hand quarantines the same lines again: one record per line, open again
    // (with the reason found now) if it had been resolved.
    await executor.run(
      'INSERT INTO opt_out_quarantine (file_name, line, reason, column_name, at) VALUES ' +
        part.map(() => '(?, ?, ?, ?, ?)').join(', ') +
        ' ON CONFLICT (file_name, line) DO UPDATE SET reason = excluded.reason, column_name = excluded.column_name, ' +
        'at = excluded.at, resolved_at = NULL, resolution = NULL WHERE opt_out_quarantine.resolved_at IS NOT NULL',
      part.flatMap((q) => [q.fileName, q.line, q.reason, q.column, q.at]),
    );
  }
}

function toQuarantinedRow(row: Row & { id: unknown }): QuarantinedRow {
  return {
    id: String(row.id),
    fileName: String(row.file_name),
    line: Number(row.line),
    reason: String(row.reason),
    column: readText(row.column_name),
    at: Number(row.at),
    resolvedAt: readTime(row.resolved_at),
    resolution: readText(row.resolution) as QuarantinedRow['resolution'],
  };
}

async function upsertWrites(executor: SqlExecutor, writes: readonly OptOutWrite[]): Promise<void> {
  // One statement must not name a key twice (PostgreSQL refuses it): the last write of a key wins.
  const latest = new Map<string, OptOutWrite>();
  for (const w of writes) latest.set(`${w.system}\u0000${w.recordKey}\u0000${w.attribute}`, w);
  for (const part of chunk([...latest.values()], rowsPerStatement)) {
    await executor.run(
      'INSERT INTO opt_out_writes (system, record_key, attribute, value, at, result_version) VALUES ' +
        part.map(() => '(?, ?, ?, ?, ?, ?)').join(', ') +
        ' ON CONFLICT (system, record_key, attribute) DO UPDATE SET value = excluded.value, at = excluded.at, ' +
        'result_version = excluded.result_version',
      part.flatMap((w): SqlParam[] => [
        w.system,
        w.recordKey,
        w.attribute,
        w.value ? 1 : 0,
        w.at,
        w.resultVersion,
      ]),
    );
  }
}

async function insertDecisions(
  executor: SqlExecutor,
  decisions: readonly Omit<OptOutDecision, 'id'>[],
): Promise<void> {
  for (const part of chunk(decisions, rowsPerStatement)) {
    await executor.run(
      `INSERT INTO opt_out_decisions (${decisionColumns}) VALUES ` +
        part.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', '),
      part.flatMap((d): SqlParam[] => [
        d.at,
        d.recordKey,
        d.dynamicsColumn,
        d.campaignAttribute,
        flag(d.dynamicsValue),
        d.dynamicsChangedAt,
        flag(d.campaignValue),
        d.campaignChangedAt,
        d.winner ? 1 : 0,
        d.winningSide,
        d.rule,
        d.mode,
        d.source,
        d.sourceRef,
        d.action,
      ]),
    );
  }
}

function toFile(row: Row): OptOutFileRecord {
  return {
    id: String(row.id),
    name: String(row.name),
    path: String(row.path),
    sizeBytes: Number(row.size_bytes),
    checksum: String(row.checksum),
    modifiedAt: readTime(row.modified_at),
    status: row.status as OptOutFileRecord['status'],
    lineCheckpoint: Number(row.line_checkpoint),
    rowsApplied: Number(row.rows_applied),
    rowsQuarantined: Number(row.rows_quarantined),
    rowsSkipped: Number(row.rows_skipped),
    startedAt: Number(row.started_at),
    finishedAt: readTime(row.finished_at),
    disposition: row.disposition as OptOutFileDisposition,
    archivedPath: readText(row.archived_path),
    disposedAt: readTime(row.disposed_at),
    errorCode: readText(row.error_code),
    attempts: Number(row.attempts),
    quarantineOpen: Number(row.quarantine_open),
    dismissedAt: readTime(row.dismissed_at),
  };
}

function toDecision(row: Row): OptOutDecision {
  return {
    id: String(row.id),
    at: Number(row.at),
    recordKey: String(row.record_key),
    dynamicsColumn: String(row.dynamics_column),
    campaignAttribute: String(row.campaign_attribute),
    dynamicsValue: readFlag(row.dynamics_value),
    dynamicsChangedAt: readTime(row.dynamics_changed_at),
    campaignValue: readFlag(row.campaign_value),
    campaignChangedAt: readTime(row.campaign_changed_at),
    winner: Number(row.winner) === 1,
    winningSide: row.winning_side as OptOutSystem,
    rule: String(row.rule),
    mode: row.mode as OptOutDecision['mode'],
    source: row.source as OptOutDecision['source'],
    sourceRef: readText(row.source_ref),
    action: row.action as OptOutDecision['action'],
  };
}

import { StoreError } from '../../core/errors.js';
import type {
  OptOutBatchCommit,
  OptOutDecision,
  OptOutFileDisposition,
  OptOutFileFinish,
  OptOutFileIdentity,
  OptOutFileInput,
  OptOutFileRecord,
  OptOutStore,
  OptOutSystem,
  OptOutWrite,
  QuarantinedRow,
} from '../../core/ports/opt-out-store.js';
import type { Page, PageRequest } from '../../core/ports/state-store.js';
import { selectPage } from './page-cursor.js';
import type { SqlExecutor, SqlParam } from './sql-driver.js';
import { chunk, isStoreId, placeholders, whereAll } from './sql-list.js';
import type { SqlStoreContext } from './sql-store-context.js';
import { requireText, requireTime } from './staged-change-input.js';

type Row = Record<string, unknown>;

const fileColumns =
  'id, name, path, size_bytes, checksum, modified_at, status, line_checkpoint, rows_applied, rows_quarantined, ' +
  'rows_skipped, started_at, finished_at, disposition, archived_path, disposed_at, error_code';
const decisionColumns =
  'at, record_key, dynamics_column, campaign_attribute, dynamics_value, dynamics_changed_at, campaign_value, ' +
  'campaign_changed_at, winner, winning_side, rule, mode, source, source_ref, action';
const rowsPerStatement = 200;
const keysPerStatement = 500;

/**
 * The opt-out ledgers (`opt_out_files`, `opt_out_quarantine`, `opt_out_writes`,
 * `opt_out_decisions`, migration 0002). A batch of a file commits its checkpoint, counters,
 * quarantined rows, writes and decisions in one transaction, so a crash never half-records one.
 */
export class SqlOptOutStore implements OptOutStore {
  constructor(private readonly ctx: SqlStoreContext) {}

  async beginFile(input: OptOutFileInput): Promise<{ file: OptOutFileRecord; created: boolean }> {
    requireText(input.name, 'opt-out file name');
    requireText(input.path, `opt-out file ${input.name}: path`);
    requireText(input.checksum, `opt-out file ${input.name}: checksum`);
    requireCount(input.sizeBytes, `opt-out file ${input.name}: sizeBytes`);
    const inserted = await this.ctx.driver.run(
      'INSERT INTO opt_out_files (name, path, size_bytes, checksum, modified_at, status, started_at) ' +
        "VALUES (?, ?, ?, ?, ?, 'processing', ?) ON CONFLICT (name, size_bytes, checksum) DO NOTHING",
      [input.name, input.path, input.sizeBytes, input.checksum, input.modifiedAt, this.ctx.clock.now()],
    );
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

  async restartFile(fileId: string): Promise<void> {
    await this.ctx.driver.run(
      "UPDATE opt_out_files SET status = 'processing', line_checkpoint = 0, rows_applied = 0, rows_quarantined = 0, " +
        'rows_skipped = 0, finished_at = NULL, error_code = NULL, started_at = ? WHERE id = ?',
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

  async lastFileStartedAt(): Promise<number | null> {
    const rows = await this.ctx.driver.all<{ latest: number | string | null }>(
      'SELECT MAX(started_at) AS latest FROM opt_out_files',
    );
    const latest = rows[0]?.latest;
    return latest === null || latest === undefined ? null : Number(latest);
  }

  listQuarantine(
    filter: { fileName?: string | undefined },
    page: PageRequest,
  ): Promise<Page<QuarantinedRow>> {
    return selectPage(
      this.ctx.driver,
      {
        label: 'opt-out quarantine',
        table: 'opt_out_quarantine',
        columns: 'id, file_name, line, reason, column_name, at',
        where: whereAll([filter.fileName === undefined ? null : ['file_name = ?', filter.fileName]]),
      },
      page,
      (row: Row & { id: unknown }) => ({
        id: String(row.id),
        fileName: String(row.file_name),
        line: Number(row.line),
        reason: String(row.reason),
        column: readText(row.column_name),
        at: Number(row.at),
      }),
    );
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

async function insertQuarantine(
  executor: SqlExecutor,
  rows: readonly Omit<QuarantinedRow, 'id'>[],
): Promise<void> {
  for (const part of chunk(rows, rowsPerStatement)) {
    // A file re-ingested by hand quarantines the same lines again: keep the first record.
    await executor.run(
      'INSERT INTO opt_out_quarantine (file_name, line, reason, column_name, at) VALUES ' +
        part.map(() => '(?, ?, ?, ?, ?)').join(', ') +
        ' ON CONFLICT (file_name, line) DO NOTHING',
      part.flatMap((q) => [q.fileName, q.line, q.reason, q.column, q.at]),
    );
  }
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

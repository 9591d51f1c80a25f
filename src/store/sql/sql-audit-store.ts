import { z } from 'zod';
import { recordTraceDetailSchema } from '../../core/record-trace.js';
import { parseStoredJson } from './stored-json.js';
import type { AuditEntry, AuditStore, Page, PageRequest } from '../../core/ports/state-store.js';
import { selectPage } from './page-cursor.js';
import type { SqlExecutor } from './sql-driver.js';
import { chunkForStatements, whereAll } from './sql-list.js';
import type { SqlStoreContext } from './sql-store-context.js';
import { requireText, requireTime } from './staged-change-input.js';

interface AuditRow {
  id: string | number;
  at: number | string;
  actor: string;
  action: string;
  flow: string | null;
  record_key: string | null;
  fields: string;
  outcome: string;
  detail: string | null;
  trace: string | null;
  [column: string]: unknown;
}

const auditColumns = 'at, actor, action, flow, record_key, fields, outcome, detail, trace';
const entriesPerStatement = 250;

/** The append-only trail of writes (ids and field names, never values), in `audit_entries`. */
export class SqlAuditStore implements AuditStore {
  constructor(private readonly ctx: SqlStoreContext) {}

  async append(entries: readonly Omit<AuditEntry, 'id'>[]): Promise<void> {
    if (entries.length === 0) return;
    if (entries.length <= entriesPerStatement) await insertAuditEntries(this.ctx.driver, entries);
    else await this.ctx.driver.transaction('append audit', (tx) => insertAuditEntries(tx, entries));
  }

  list(
    filter: { flow?: string; recordKey?: string; action?: string; since?: number },
    page: PageRequest,
  ): Promise<Page<AuditEntry>> {
    const where = whereAll([
      filter.flow === undefined ? null : ['flow = ?', filter.flow],
      filter.recordKey === undefined ? null : ['record_key = ?', filter.recordKey],
      filter.action === undefined ? null : ['action = ?', filter.action],
      // Paged in id order: start at the first id of the period (found through the `at` index), so
      // a recent period does not read the whole trail before it.
      filter.since === undefined
        ? null
        : [
            'at >= ? AND id >= (SELECT MIN(s.id) FROM audit_entries s WHERE s.at >= ?)',
            filter.since,
            filter.since,
          ],
    ]);
    return selectPage(
      this.ctx.driver,
      { label: 'audit list', table: 'audit_entries', columns: `id, ${auditColumns}`, where },
      page,
      toAuditEntry,
    );
  }

  async forRecord(
    recordKey: string,
    options: { flow?: string | undefined; limit: number },
  ): Promise<AuditEntry[]> {
    const limit = Math.max(0, Math.min(Math.floor(options.limit), 10_000));
    if (limit === 0) return [];
    // audit_entries_record (record_key, id) read backwards: the newest entries of the key first.
    const byFlow = options.flow === undefined ? '' : ' AND flow = ?';
    const rows = await this.ctx.driver.all<AuditRow>(
      `SELECT id, ${auditColumns} FROM audit_entries WHERE record_key = ?${byFlow} ORDER BY id DESC LIMIT ?`,
      options.flow === undefined ? [recordKey, limit] : [recordKey, options.flow, limit],
    );
    return rows.map(toAuditEntry);
  }

  async flowsOfRecord(recordKey: string): Promise<string[]> {
    const rows = await this.ctx.driver.all<{ flow: string }>(
      'SELECT DISTINCT flow FROM audit_entries WHERE record_key = ? AND flow IS NOT NULL ORDER BY flow',
      [recordKey],
    );
    return rows.map((row) => row.flow);
  }
}

/** Append audit entries; also used inside a completion's transaction. */
export async function insertAuditEntries(
  executor: SqlExecutor,
  entries: readonly Omit<AuditEntry, 'id'>[],
): Promise<void> {
  const values = entries.map(auditRowValues);
  for (const rows of chunkForStatements(values, entriesPerStatement)) {
    await executor.run(
      `INSERT INTO audit_entries (${auditColumns}) VALUES ` +
        rows.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', '),
      rows.flat(),
    );
  }
}

/** One audit entry, checked, as the values of {@link auditColumns} in order. */
export function auditRowValues(entry: Omit<AuditEntry, 'id'>, index: number): (string | number | null)[] {
  requireTime(entry.at, `audit entry ${index}: at`);
  requireText(entry.actor, `audit entry ${index}: actor`);
  requireText(entry.action, `audit entry ${index}: action`);
  requireText(entry.outcome, `audit entry ${index}: outcome`);
  if (!Array.isArray(entry.fields)) requireText(entry.fields, `audit entry ${index}: fields`);
  return [
    entry.at,
    entry.actor,
    entry.action,
    entry.flow ?? null,
    entry.recordKey ?? null,
    JSON.stringify(entry.fields),
    entry.outcome,
    entry.detail ?? null,
    entry.trace === undefined ? null : JSON.stringify(entry.trace),
  ];
}

function toAuditEntry(row: AuditRow): AuditEntry {
  return {
    id: String(row.id),
    at: Number(row.at),
    actor: row.actor,
    action: row.action,
    flow: row.flow,
    recordKey: row.record_key,
    fields: parseStoredJson(z.array(z.string()), row.fields, `audit entry ${row.id}: fields`),
    outcome: row.outcome,
    detail: row.detail,
    ...(row.trace === null
      ? {}
      : { trace: parseStoredJson(recordTraceDetailSchema, row.trace, `audit entry ${row.id}: trace`) }),
  };
}

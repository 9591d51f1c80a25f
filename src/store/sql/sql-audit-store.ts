import type { AuditEntry, AuditStore, Page, PageRequest } from '../../core/ports/state-store.js';
import { resolvePageRequest, toPage } from './page-cursor.js';
import type { SqlExecutor, SqlParam } from './sql-driver.js';
import { chunk } from './sql-list.js';
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
  [column: string]: unknown;
}

const auditColumns = 'at, actor, action, flow, record_key, fields, outcome, detail';
const entriesPerStatement = 300;

/** The append-only trail of writes (ids and field names, never values), in `audit_entries`. */
export class SqlAuditStore implements AuditStore {
  constructor(private readonly ctx: SqlStoreContext) {}

  async append(entries: readonly Omit<AuditEntry, 'id'>[]): Promise<void> {
    if (entries.length === 0) return;
    if (entries.length <= entriesPerStatement) await insertAuditEntries(this.ctx.driver, entries);
    else await this.ctx.driver.transaction('append audit', (tx) => insertAuditEntries(tx, entries));
  }

  async list(
    filter: { flow?: string; recordKey?: string; action?: string; since?: number },
    page: PageRequest,
  ): Promise<Page<AuditEntry>> {
    const { afterId, limit } = resolvePageRequest(page, 'audit list');
    const terms = ['1 = 1'];
    const params: SqlParam[] = [];
    const add = (term: string, value: SqlParam | undefined): void => {
      if (value === undefined) return;
      terms.push(term);
      params.push(value);
    };
    add('flow = ?', filter.flow);
    add('record_key = ?', filter.recordKey);
    add('action = ?', filter.action);
    add('at >= ?', filter.since);
    add('id > ?', afterId ?? undefined);
    const rows = await this.ctx.driver.all<AuditRow>(
      `SELECT id, ${auditColumns} FROM audit_entries WHERE ${terms.join(' AND ')} ORDER BY id LIMIT ?`,
      [...params, limit + 1],
    );
    return toPage(rows, limit, toAuditEntry);
  }
}

/** Append audit entries; also used inside a completion's transaction. */
export async function insertAuditEntries(
  executor: SqlExecutor,
  entries: readonly Omit<AuditEntry, 'id'>[],
): Promise<void> {
  entries.forEach((entry, index) => {
    requireTime(entry.at, `audit entry ${index}: at`);
    requireText(entry.actor, `audit entry ${index}: actor`);
    requireText(entry.action, `audit entry ${index}: action`);
    requireText(entry.outcome, `audit entry ${index}: outcome`);
    if (!Array.isArray(entry.fields)) requireText(entry.fields, `audit entry ${index}: fields`);
  });
  for (const rows of chunk(entries, entriesPerStatement)) {
    await executor.run(
      `INSERT INTO audit_entries (${auditColumns}) VALUES ` +
        rows.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', '),
      rows.flatMap((e) => [
        e.at,
        e.actor,
        e.action,
        e.flow ?? null,
        e.recordKey ?? null,
        JSON.stringify(e.fields),
        e.outcome,
        e.detail ?? null,
      ]),
    );
  }
}

function toAuditEntry(row: AuditRow): AuditEntry {
  return {
    id: String(row.id),
    at: Number(row.at),
    actor: row.actor,
    action: row.action,
    flow: row.flow,
    recordKey: row.record_key,
    fields: JSON.parse(row.fields) as string[],
    outcome: row.outcome,
    detail: row.detail,
  };
}

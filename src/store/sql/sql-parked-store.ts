import { formatIso } from '../../core/clock.js';
import { PRIVACY_HOLD_FLOW } from '../../core/ports/record-guard.js';
import type {
  AuditEntry,
  Page,
  PageRequest,
  ParentRef,
  ParkedItem,
  ParkedState,
  ParkedStore,
} from '../../core/ports/state-store.js';
import { traceAuditActions, traceChildrenLimit } from '../../core/record-trace.js';
import { insertAuditEntries } from './sql-audit-store.js';
import { parsePayload } from './work-item-row.js';
import { selectPage } from './page-cursor.js';
import { keyOf, whereAll, type SqlWhere } from './sql-list.js';
import type { SqlStoreContext } from './sql-store-context.js';
import type { SqlTransaction } from './sql-driver.js';
import { restageStoredStates } from './stage-changes.js';

interface ParkedRow {
  id: string | number;
  flow: string;
  record_key: string;
  parent_flow: string;
  parent_key: string;
  payload: string;
  source_version: string | null;
  reason: string;
  state: string;
  parked_at: number | string;
  updated_at: number | string;
  [column: string]: unknown;
}

const parkedColumns =
  'id, flow, record_key, parent_flow, parent_key, payload, source_version, reason, state, parked_at, updated_at';

type ParkedFilter = { flow?: string; parent?: ParentRef; state?: ParkedState };

/** Children waiting for their parent record, in `parked_items`. */
export class SqlParkedStore implements ParkedStore {
  constructor(private readonly ctx: SqlStoreContext) {}

  release(parent: ParentRef): Promise<number> {
    const now = this.ctx.clock.now();
    return this.ctx.driver.transaction('release parked', (tx) => releaseParkedIn(tx, parent, now));
  }

  async get(flow: string, recordKey: string): Promise<ParkedItem | null> {
    const rows = await this.ctx.driver.all<ParkedRow>(
      `SELECT ${parkedColumns} FROM parked_items WHERE flow = ? AND record_key = ?`,
      [flow, recordKey],
    );
    return rows[0] === undefined ? null : toParkedItem(rows[0]);
  }

  async remove(flow: string, recordKey: string): Promise<boolean> {
    const removed = await this.ctx.driver.run('DELETE FROM parked_items WHERE flow = ? AND record_key = ?', [
      flow,
      recordKey,
    ]);
    return removed > 0;
  }

  list(filter: ParkedFilter, page: PageRequest): Promise<Page<ParkedItem>> {
    return selectPage(
      this.ctx.driver,
      { label: 'parked list', table: 'parked_items', columns: parkedColumns, where: parkedWhere(filter) },
      page,
      toParkedItem,
    );
  }

  async count(flow?: string, state?: ParkedState): Promise<number> {
    const where = parkedWhere({
      ...(flow === undefined ? {} : { flow }),
      ...(state === undefined ? {} : { state }),
    });
    const rows = await this.ctx.driver.all<{ n: number | string }>(
      `SELECT COUNT(*) AS n FROM parked_items WHERE ${where.sql}`,
      where.params,
    );
    return Number(rows[0]?.n ?? 0);
  }

  async oldestParkedAt(flow: string, state: ParkedState): Promise<number | null> {
    const rows = await this.ctx.driver.all<{ at: number | string | null }>(
      'SELECT MIN(parked_at) AS at FROM parked_items WHERE flow = ? AND state = ?',
      [flow, state],
    );
    const at = rows[0]?.at;
    return at === null || at === undefined ? null : Number(at);
  }
}

/**
 * Move every item parked on `parent` back to the queue inside `tx` (a release of its own, or the
 * parent's completion): each coalesces with a queued item of its key as `enqueue` does.
 */
export async function releaseParkedIn(tx: SqlTransaction, parent: ParentRef, now: number): Promise<number> {
  // Parks on this parent take the same lock: a park committing meanwhile is seen here, or waits for
  // this release (and its parent's completion) to commit and then finds the parent landed.
  await tx.lockKeys([parkedOnKey(parent)]);
  const byParent = 'FROM parked_items WHERE parent_flow = ? AND parent_key = ?';
  const waiting = await tx.all<{ flow: string; record_key: string }>(`SELECT flow, record_key ${byParent}`, [
    parent.flow,
    parent.recordKey,
  ]);
  if (waiting.length === 0) return 0;
  const keys = new Set(waiting.map((row) => keyOf(row.flow, row.record_key)));
  await tx.lockKeys([...keys]);
  // Read again under the key locks; a child parked meanwhile waits for the next release.
  const rows = (
    await tx.all<ParkedRow>(`SELECT ${parkedColumns} ${byParent} ORDER BY id ${tx.forUpdate}`, [
      parent.flow,
      parent.recordKey,
    ])
  ).filter((row) => keys.has(keyOf(row.flow, row.record_key)));
  if (rows.length === 0) return 0;
  for (const row of rows) await tx.run('DELETE FROM parked_items WHERE id = ?', [String(row.id)]);
  await restageStoredStates(tx, rows, now);
  await insertAuditEntries(tx, releaseAuditEntries(parent, rows, now));
  return rows.length;
}

/**
 * The trace of a release, written with it (one multi-row insert): a `record.released` entry per
 * child (the parent it waited for, since when, why) and a `record.children-released` entry on the
 * parent naming the first children.
 */
function releaseAuditEntries(
  parent: ParentRef,
  rows: readonly ParkedRow[],
  now: number,
): Omit<AuditEntry, 'id'>[] {
  const children = rows.map((row) => ({ flow: row.flow, recordKey: row.record_key }));
  const entries: Omit<AuditEntry, 'id'>[] = rows.map((row) => ({
    at: now,
    actor: 'engine',
    action: traceAuditActions.released,
    flow: row.flow,
    recordKey: row.record_key,
    fields: [],
    outcome: 'ok',
    detail: `parked since ${formatIso(Number(row.parked_at))}: ${row.reason}`,
    trace: {
      parents: [{ flow: parent.flow, recordKey: parent.recordKey }],
      ...(row.source_version === null ? {} : { sourceVersion: row.source_version }),
    },
  }));
  // A privacy hold is no record: its release shows on the child only.
  if (parent.flow === PRIVACY_HOLD_FLOW) return entries;
  entries.push({
    at: now,
    actor: 'engine',
    action: traceAuditActions.childrenReleased,
    flow: parent.flow,
    recordKey: parent.recordKey,
    fields: [],
    outcome: 'ok',
    detail: null,
    trace: { children: children.slice(0, traceChildrenLimit), childCount: children.length },
  });
  return entries;
}

/** The lock a park and a release of the same parent share. */
export function parkedOnKey(parent: ParentRef): string {
  return keyOf(`parked-on:${parent.flow}`, parent.recordKey);
}

function parkedWhere(filter: ParkedFilter): SqlWhere {
  return whereAll([
    filter.flow === undefined ? null : ['flow = ?', filter.flow],
    filter.state === undefined ? null : ['state = ?', filter.state],
    filter.parent === undefined
      ? null
      : ['parent_flow = ? AND parent_key = ?', filter.parent.flow, filter.parent.recordKey],
  ]);
}

function toParkedItem(row: ParkedRow): ParkedItem {
  return {
    flow: row.flow,
    recordKey: row.record_key,
    parent: { flow: row.parent_flow, recordKey: row.parent_key },
    state: row.state === 'orphan' ? 'orphan' : 'waiting',
    payload: parsePayload(row.payload),
    sourceVersion: row.source_version,
    reason: row.reason,
    parkedAt: Number(row.parked_at),
    updatedAt: Number(row.updated_at),
  };
}

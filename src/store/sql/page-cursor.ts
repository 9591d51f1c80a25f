import { StoreError } from '../../core/errors.js';
import type { Page, PageRequest } from '../../core/ports/state-store.js';
import type { SqlExecutor, SqlRow } from './sql-driver.js';
import type { SqlWhere } from './sql-list.js';

const defaultPageLimit = 100;
const maxPageLimit = 1000;

/**
 * One page of `table` rows matching `where`, oldest id first (newest first with `newestFirst`). Cursors are opaque to callers;
 * inside they carry the last row id of the previous page.
 */
export async function selectPage<R extends SqlRow & { id: unknown }, T>(
  executor: SqlExecutor,
  query: {
    label: string;
    table: string;
    columns: string;
    where: SqlWhere;
    newestFirst?: boolean;
    /**
     * How the id is written in the cursor condition and the order: `+id` keeps SQLite from walking
     * the primary key when a partial index of the WHERE finds the few matching rows faster (the
     * matches are then sorted). @default 'id'
     */
    idExpression?: '+id';
  },
  page: PageRequest,
  map: (row: R) => T,
): Promise<Page<T>> {
  const { afterId, limit } = resolvePageRequest(page, query.label);
  const id = query.idExpression ?? 'id';
  // An expression has no column affinity: SQLite would compare the integer id with the cursor's text.
  const after = query.idExpression === undefined ? '?' : 'CAST(? AS BIGINT)';
  const rows = await executor.all<R>(
    `SELECT ${query.columns} FROM ${query.table} WHERE ${query.where.sql}` +
      `${afterId === null ? '' : query.newestFirst ? ` AND ${id} < ${after}` : ` AND ${id} > ${after}`} ` +
      `ORDER BY ${id}${query.newestFirst ? ' DESC' : ''} LIMIT ?`,
    [...query.where.params, ...(afterId === null ? [] : [afterId]), limit + 1],
  );
  return toPage(rows, limit, map);
}

/** A page request resolved against the store's defaults: the row id to start after and the size. */
interface ResolvedPageRequest {
  afterId: string | null;
  limit: number;
}

function resolvePageRequest(page: PageRequest, list: string): ResolvedPageRequest {
  const requested = page.limit ?? defaultPageLimit;
  if (!Number.isInteger(requested) || requested < 1) {
    throw new StoreError('STORE_INVALID_INPUT', `${list}: page limit must be a positive integer`);
  }
  return { afterId: decodeCursor(page.cursor, list), limit: Math.min(requested, maxPageLimit) };
}

/** Cut one extra row off the fetched rows and turn it into the next cursor. */
function toPage<R extends { id: unknown }, T>(
  rows: readonly R[],
  limit: number,
  map: (row: R) => T,
): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  const nextCursor = rows.length > limit && last !== undefined ? encodeCursor(String(last.id)) : null;
  return { items: items.map(map), nextCursor };
}

function encodeCursor(id: string): string {
  return Buffer.from(`id:${id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string | undefined, list: string): string | null {
  if (cursor === undefined) return null;
  const match = /^id:(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (match === null) {
    throw new StoreError('STORE_INVALID_CURSOR', `${list}: the page cursor is not one this store issued`);
  }
  return match[1]!;
}

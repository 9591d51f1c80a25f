import type {
  DeadLetter,
  DeadLetterFilter,
  DeadLetterListOrder,
  DeadLetterStore,
  Page,
  PageRequest,
} from '../../core/ports/state-store.js';
import { selectPage } from './page-cursor.js';
import { chunk, isStoreId, keyOf, placeholders, whereAll, type SqlWhere } from './sql-list.js';
import type { SqlStoreContext } from './sql-store-context.js';
import { restageStoredStates } from './stage-changes.js';
import { itemsOfKeys, parsePayload } from './work-item-row.js';

interface DeadLetterRow {
  id: string | number;
  flow: string;
  record_key: string;
  payload: string;
  source_version: string | null;
  code: string;
  message: string;
  attempts: number | string;
  first_failed_at: number | string;
  last_failed_at: number | string;
  [column: string]: unknown;
}

const deadLetterColumns =
  'id, flow, record_key, payload, source_version, code, message, attempts, first_failed_at, last_failed_at';
const idsPerStatement = 500;

/** Work items that will not be retried without an operator, in `dead_letters`. */
export class SqlDeadLetterStore implements DeadLetterStore {
  constructor(private readonly ctx: SqlStoreContext) {}

  list(
    filter: DeadLetterFilter,
    page: PageRequest,
    order: DeadLetterListOrder = {},
  ): Promise<Page<DeadLetter>> {
    return selectPage(
      this.ctx.driver,
      {
        label: 'dead-letter list',
        table: 'dead_letters',
        columns: deadLetterColumns,
        where: deadLetterWhere(filter),
        newestFirst: order.newestFirst === true,
      },
      page,
      toDeadLetter,
    );
  }

  async count(filter: DeadLetterFilter = {}): Promise<number> {
    const where = deadLetterWhere(filter);
    const rows = await this.ctx.driver.all<{ n: number | string }>(
      `SELECT COUNT(*) AS n FROM dead_letters WHERE ${where.sql}`,
      where.params,
    );
    return Number(rows[0]?.n ?? 0);
  }

  async countByCode(): Promise<{ flow: string; code: string; count: number }[]> {
    const rows = await this.ctx.driver.all<{ flow: string; code: string; n: number | string }>(
      'SELECT flow, code, COUNT(*) AS n FROM dead_letters GROUP BY flow, code ORDER BY flow, code',
    );
    return rows.map((row) => ({ flow: row.flow, code: row.code, count: Number(row.n) }));
  }

  async retry(ids: readonly string[]): Promise<number> {
    const wanted = [...new Set(ids.filter(isStoreId))];
    if (wanted.length === 0) return 0;
    const now = this.ctx.clock.now();
    return this.ctx.driver.transaction('retry dead letters', async (tx) => {
      const parts = chunk(wanted, idsPerStatement);
      const keys = new Set<string>();
      for (const part of parts) {
        const found = await tx.all<{ flow: string; record_key: string }>(
          `SELECT flow, record_key FROM dead_letters WHERE id IN (${placeholders(part.length)})`,
          part,
        );
        for (const row of found) keys.add(keyOf(row.flow, row.record_key));
      }
      if (keys.size === 0) return 0;
      await tx.lockKeys([...keys]);
      let retried = 0;
      for (const part of parts) {
        const inIds = `id IN (${placeholders(part.length)})`;
        const rows = (
          await tx.all<DeadLetterRow>(
            `SELECT ${deadLetterColumns} FROM dead_letters WHERE ${inIds} ORDER BY id ${tx.forUpdate}`,
            part,
          )
        ).filter((row) => keys.has(keyOf(row.flow, row.record_key)));
        if (rows.length === 0) continue;
        await tx.run(
          `DELETE FROM dead_letters WHERE id IN (${placeholders(rows.length)})`,
          rows.map((row) => String(row.id)),
        );
        // A key with newer work (queued, leased or parked) keeps it: the dead letter is older.
        const busy = new Set<string>();
        for (const [flow, flowKeys] of groupByFlow(rows)) {
          const items = itemsOfKeys(flow, flowKeys);
          const held = await tx.all<{ record_key: string }>(
            `SELECT record_key FROM work_items WHERE ${items.sql} ` +
              `UNION SELECT record_key FROM parked_items WHERE flow = ? AND record_key IN (${placeholders(flowKeys.length)})`,
            [...items.params, flow, ...flowKeys],
          );
          for (const row of held) busy.add(keyOf(flow, row.record_key));
        }
        await restageStoredStates(
          tx,
          rows.filter((row) => !busy.has(keyOf(row.flow, row.record_key))),
          now,
        );
        retried += rows.length;
      }
      return retried;
    });
  }

  async discard(ids: readonly string[]): Promise<number> {
    const wanted = [...new Set(ids.filter(isStoreId))];
    let removed = 0;
    for (const part of chunk(wanted, idsPerStatement)) {
      removed += await this.ctx.driver.run(
        `DELETE FROM dead_letters WHERE id IN (${placeholders(part.length)})`,
        part,
      );
    }
    return removed;
  }

  async resolveKey(flow: string, recordKey: string): Promise<number> {
    return this.ctx.driver.run('DELETE FROM dead_letters WHERE flow = ? AND record_key = ?', [
      flow,
      recordKey,
    ]);
  }
}

function groupByFlow(rows: readonly DeadLetterRow[]): Map<string, string[]> {
  const byFlow = new Map<string, string[]>();
  for (const row of rows) {
    const keys = byFlow.get(row.flow);
    if (keys === undefined) byFlow.set(row.flow, [row.record_key]);
    else if (!keys.includes(row.record_key)) keys.push(row.record_key);
  }
  return byFlow;
}

function deadLetterWhere(filter: DeadLetterFilter): SqlWhere {
  const key = filter.recordKey;
  // substr, not LIKE: SQLite's LIKE ignores case and both treat % and _ as wildcards.
  const prefix = key?.endsWith('*') === true ? key.slice(0, -1) : null;
  return whereAll([
    filter.flow === undefined ? null : ['flow = ?', filter.flow],
    key === undefined
      ? null
      : prefix === null
        ? ['record_key = ?', key]
        : ['substr(record_key, 1, ?) = ?', Array.from(prefix).length, prefix],
    filter.code === undefined ? null : ['code = ?', filter.code],
  ]);
}

function toDeadLetter(row: DeadLetterRow): DeadLetter {
  return {
    id: String(row.id),
    flow: row.flow,
    recordKey: row.record_key,
    payload: parsePayload(row.payload),
    sourceVersion: row.source_version,
    code: row.code,
    message: row.message,
    attempts: Number(row.attempts),
    firstFailedAt: Number(row.first_failed_at),
    lastFailedAt: Number(row.last_failed_at),
  };
}

import type {
  DeadLetter,
  DeadLetterFilter,
  DeadLetterStore,
  Page,
  PageRequest,
} from '../../core/ports/state-store.js';
import { resolvePageRequest, toPage } from './page-cursor.js';
import type { SqlParam } from './sql-driver.js';
import { chunk, isStoreId, keyOf, placeholders } from './sql-list.js';
import type { SqlStoreContext } from './sql-store-context.js';
import { stageChanges } from './stage-changes.js';
import { laneRankOf, parsePayload } from './work-item-row.js';

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

  async list(filter: DeadLetterFilter, page: PageRequest): Promise<Page<DeadLetter>> {
    const { afterId, limit } = resolvePageRequest(page, 'dead-letter list');
    const where = deadLetterWhere(filter);
    if (afterId !== null) {
      where.sql += ' AND id > ?';
      where.params.push(afterId);
    }
    const rows = await this.ctx.driver.all<DeadLetterRow>(
      `SELECT ${deadLetterColumns} FROM dead_letters WHERE ${where.sql} ORDER BY id LIMIT ?`,
      [...where.params, limit + 1],
    );
    return toPage(rows, limit, toDeadLetter);
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
          const held = await tx.all<{ record_key: string }>(
            `SELECT record_key FROM work_items WHERE flow = ? AND record_key IN (${placeholders(flowKeys.length)}) ` +
              `UNION SELECT record_key FROM parked_items WHERE flow = ? AND record_key IN (${placeholders(flowKeys.length)})`,
            [flow, ...flowKeys, flow, ...flowKeys],
          );
          for (const row of held) busy.add(keyOf(flow, row.record_key));
        }
        await stageChanges(
          tx,
          rows
            .filter((row) => !busy.has(keyOf(row.flow, row.record_key)))
            .map((row) => ({
              flow: row.flow,
              recordKey: row.record_key,
              payload: row.payload,
              sourceVersion: row.source_version,
              laneRank: laneRankOf('live'),
              availableAt: now,
            })),
          now,
          { keysLocked: true },
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

function deadLetterWhere(filter: DeadLetterFilter): { sql: string; params: SqlParam[] } {
  const terms = ['1 = 1'];
  const params: SqlParam[] = [];
  if (filter.flow !== undefined) {
    terms.push('flow = ?');
    params.push(filter.flow);
  }
  if (filter.recordKey !== undefined) {
    if (filter.recordKey.endsWith('*')) {
      // substr, not LIKE: SQLite's LIKE ignores case and both treat % and _ as wildcards.
      const prefix = filter.recordKey.slice(0, -1);
      terms.push('substr(record_key, 1, ?) = ?');
      params.push(Array.from(prefix).length, prefix);
    } else {
      terms.push('record_key = ?');
      params.push(filter.recordKey);
    }
  }
  if (filter.code !== undefined) {
    terms.push('code = ?');
    params.push(filter.code);
  }
  return { sql: terms.join(' AND '), params };
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

import type { SqlParam } from './sql-driver.js';

/** `?, ?, ?` for an IN list of `count` values. */
export function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}

/** Split a list so no statement exceeds the drivers' parameter limits. */
export function chunk<T>(values: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < values.length; start += size) chunks.push(values.slice(start, start + size));
  return chunks;
}

/** Store ids are canonical decimal strings; anything else names no row. */
export function isStoreId(id: unknown): id is string {
  return typeof id === 'string' && /^(0|[1-9]\d{0,18})$/.test(id);
}

/** A record key as one string, for per-key locks and maps. */
export function keyOf(flow: string, recordKey: string): string {
  return `${flow}\u0000${recordKey}`;
}

/** A WHERE clause and its parameters. */
export interface SqlWhere {
  sql: string;
  params: SqlParam[];
}

/** AND of the given terms (`[sql, ...params]`); skipped terms are `null`; no terms match all rows. */
export function whereAll(terms: readonly ([string, ...SqlParam[]] | null)[]): SqlWhere {
  const present = terms.filter((term) => term !== null);
  return {
    sql: present.length === 0 ? '1 = 1' : present.map(([sql]) => sql).join(' AND '),
    params: present.flatMap(([, ...params]) => params),
  };
}

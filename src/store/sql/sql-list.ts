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
/** `values` grouped by `key`, each group's `value`s in order (appended to, never copied: linear). */
export function groupBy<T, V>(
  values: Iterable<T>,
  key: (value: T) => string,
  value: (value: T) => V,
): Map<string, V[]> {
  const groups = new Map<string, V[]>();
  for (const item of values) {
    const k = key(item);
    const group = groups.get(k);
    if (group === undefined) groups.set(k, [value(item)]);
    else group.push(value(item));
  }
  return groups;
}

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

/**
 * The sizes statements of one shape are prepared for: powers of two, and `max`. Every distinct
 * statement text is a statement the SQLite driver prepares and caches (up to 500): one of 500
 * parameters holds ~75 KB of native memory, a multi-row INSERT of 300 rows ~180 KB. With a text per
 * list length (a lease returns any number of items), a bulk load kept hundreds of them.
 */
function sizeFor(count: number, max: number): number {
  let size = 1;
  while (size < count) size *= 2;
  return Math.min(size, Math.max(max, count));
}

/**
 * `IN (?, …)` for `values`, padded with its last value to a size of {@link sizeFor} (a value listed
 * twice matches the same rows once): the placeholders and the parameters to bind.
 */
export function inList<T extends SqlParam>(values: readonly T[], max = 500): { sql: string; params: T[] } {
  if (values.length === 0) return { sql: '', params: [] };
  const size = sizeFor(values.length, max);
  const params = [...values];
  const last = values[values.length - 1]!;
  while (params.length < size) params.push(last);
  return { sql: placeholders(size), params };
}

/**
 * Split rows for multi-row statements (`VALUES (…), (…)`): whole chunks of `size`, then the rest in
 * descending powers of two, so a shape has a few statement texts whatever the row count.
 */
export function chunkForStatements<T>(values: readonly T[], size: number): T[][] {
  const whole = values.length - (values.length % size);
  const chunks = chunk(values.slice(0, whole), size);
  let start = whole;
  while (start < values.length) {
    let part = 1;
    while (part * 2 <= values.length - start) part *= 2;
    chunks.push(values.slice(start, start + part));
    start += part;
  }
  return chunks;
}

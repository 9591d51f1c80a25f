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

import type { JsonObject, JsonValue } from './json.js';

export const filterOperators = [
  'eq',
  'ne',
  'in',
  'notIn',
  'null',
  'notNull',
  'gt',
  'lt',
  'ge',
  'le',
] as const;
export type FilterOperator = (typeof filterOperators)[number];

export interface FilterCondition {
  field: string;
  op: FilterOperator;
  value?: JsonValue | undefined;
}

/** `all` = every condition holds (And); `any` = at least one (Or). */
export type RecordFilter = { all: FilterCondition[] } | { any: FilterCondition[] };

function compare(a: JsonValue | undefined, b: JsonValue | undefined): number | null {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return null;
}

function looselyEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return (a ?? null) === (b ?? null);
  // Picklist values arrive as numbers; configs often write them as strings.
  if (typeof a !== 'object' && typeof b !== 'object')
    return String(a).toLowerCase() === String(b).toLowerCase();
  return false;
}

function holds(condition: FilterCondition, values: JsonObject): boolean {
  const actual = values[condition.field];
  switch (condition.op) {
    case 'eq':
      return looselyEqual(actual, condition.value);
    case 'ne':
      return !looselyEqual(actual, condition.value);
    case 'in':
      return Array.isArray(condition.value) && condition.value.some((v) => looselyEqual(actual, v));
    case 'notIn':
      return !Array.isArray(condition.value) || !condition.value.some((v) => looselyEqual(actual, v));
    case 'null':
      return actual === null || actual === undefined;
    case 'notNull':
      return actual !== null && actual !== undefined;
    case 'gt': {
      const c = compare(actual, condition.value);
      return c !== null && c > 0;
    }
    case 'lt': {
      const c = compare(actual, condition.value);
      return c !== null && c < 0;
    }
    case 'ge': {
      const c = compare(actual, condition.value);
      return c !== null && c >= 0;
    }
    case 'le': {
      const c = compare(actual, condition.value);
      return c !== null && c <= 0;
    }
  }
}

/** Whether a source record passes the flow's filter. No filter = every record passes. */
export function matchesFilter(filter: RecordFilter | undefined | null, values: JsonObject): boolean {
  if (!filter) return true;
  if ('all' in filter) return filter.all.every((c) => holds(c, values));
  return filter.any.length === 0 || filter.any.some((c) => holds(c, values));
}

/** Source columns a filter reads (they must be selected from Dynamics). */
export function filterColumns(filter: RecordFilter | undefined | null): string[] {
  if (!filter) return [];
  const conditions = 'all' in filter ? filter.all : filter.any;
  return [...new Set(conditions.map((c) => c.field))];
}

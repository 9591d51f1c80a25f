import { propertyNotFoundError } from '../dataverse-error.js';
import { readNameOf, type ColumnSchema } from '../schema/table-schema.js';
import type { DataverseDataStore, Row, TableData } from '../store/dataverse-data-store.js';

const formattedValueTerm = 'OData.Community.Display.V1.FormattedValue';
const navigationTerm = 'Microsoft.Dynamics.CRM.associatednavigationproperty';
const lookupTableTerm = 'Microsoft.Dynamics.CRM.lookuplogicalname';

/**
 * Which annotation terms an `odata.include-annotations` preference asks for, by the OData rules:
 * `*`, a namespace wildcard (`OData.Community.Display.V1.*`), an exact term, and exclusions
 * (`-term`) which win.
 */
export function annotationFilter(includeAnnotations: string | undefined): (term: string) => boolean {
  if (!includeAnnotations) return () => false;
  const patterns = includeAnnotations
    .split(',')
    .map((p) => p.trim().replace(/^"|"$/g, ''))
    .filter((p) => p !== '');
  const matches = (pattern: string, term: string): boolean =>
    pattern === '*' || pattern === term || (pattern.endsWith('.*') && term.startsWith(pattern.slice(0, -1)));
  const included = patterns.filter((p) => !p.startsWith('-'));
  const excluded = patterns.filter((p) => p.startsWith('-')).map((p) => p.slice(1));
  return (term) => included.some((p) => matches(p, term)) && !excluded.some((p) => matches(p, term));
}

const moneyFormat = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });

/** `2023-04-07T21:59:01Z` → `4/7/2023 9:59 PM` (en-US, in UTC: the emulated user's time zone). */
function formatDateTimeValue(value: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour, minute] = match;
  const date = `${Number(month)}/${Number(day)}/${year}`;
  if (hour === undefined || minute === undefined) return date;
  const h = Number(hour);
  return `${date} ${h % 12 === 0 ? 12 : h % 12}:${minute} ${h < 12 ? 'AM' : 'PM'}`;
}

/**
 * The formatted value Dataverse returns for a column value (select-columns, "Formatted values"):
 * choice, choices, yes/no, status and status reason labels, the primary name of a lookup's row,
 * currency with its symbol, and dates. Other columns (strings, numbers, ids) have none.
 */
export function formattedValueOf(
  column: ColumnSchema,
  value: unknown,
  store: DataverseDataStore | undefined,
): string | undefined {
  if (value === null || value === undefined) return undefined;
  const labelOf = (v: number): string => column.options?.find((o) => o.value === v)?.label ?? String(v);
  switch (column.type) {
    case 'picklist':
    case 'state':
    case 'status':
      return typeof value === 'number' ? labelOf(value) : undefined;
    case 'multiselectpicklist':
      return typeof value === 'string' && value !== ''
        ? value
            .split(',')
            .map((v) => labelOf(Number(v)))
            .join('; ')
        : undefined;
    case 'boolean':
      return value === true ? (column.trueLabel ?? 'Yes') : (column.falseLabel ?? 'No');
    case 'money':
      return typeof value === 'number' ? moneyFormat.format(value) : undefined;
    case 'datetime':
    case 'dateonly':
      return typeof value === 'string' ? formatDateTimeValue(value) : undefined;
    case 'lookup': {
      const target = store?.table(column.target ?? '');
      const name =
        typeof value === 'string' ? target?.rows.get(value)?.[target.schema.primaryNameAttribute] : undefined;
      return typeof name === 'string' && name !== '' ? name : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Which columns a response carries and how a stored row becomes a JSON object: `@odata.etag`
 * first, then the selected properties (lookups as `_x_value`), each after the annotations the
 * request asked for (formatted value, lookup navigation property and table), then the primary key
 * even when not selected.
 */
export class RowProjection {
  private readonly entries: { readName: string; logicalName: string; column: ColumnSchema }[];
  private readonly primaryId: string;
  private readonly formatted: boolean;
  private readonly navigation: boolean;
  private readonly lookupTable: boolean;

  constructor(
    data: TableData,
    select: readonly string[] | undefined,
    includeAnnotations: string | undefined,
    private readonly store?: DataverseDataStore,
  ) {
    this.primaryId = data.schema.primaryIdAttribute;
    const columns: ColumnSchema[] = [];
    if (select === undefined) {
      columns.push(...data.schema.columns.filter((c) => c.logicalName !== this.primaryId));
    } else {
      for (const name of select) {
        const column = data.columnsByReadName.get(name);
        if (!column) throw propertyNotFoundError(name, data.schema.logicalName);
        if (column.logicalName !== this.primaryId && !columns.includes(column)) columns.push(column);
      }
    }
    this.entries = columns.map((column) => ({
      readName: readNameOf(column),
      logicalName: column.logicalName,
      column,
    }));
    const wants = annotationFilter(includeAnnotations);
    this.formatted = wants(formattedValueTerm);
    this.navigation = wants(navigationTerm);
    this.lookupTable = wants(lookupTableTerm);
  }

  project(row: Row): Record<string, unknown> {
    const out: Record<string, unknown> = { '@odata.etag': `W/"${row.versionnumber}"` };
    for (const entry of this.entries) {
      const value = row[entry.logicalName] ?? null;
      if (this.formatted) {
        const text = formattedValueOf(entry.column, value, this.store);
        if (text !== undefined) out[`${entry.readName}@${formattedValueTerm}`] = text;
      }
      if (entry.column.type === 'lookup' && value !== null) {
        if (this.navigation) out[`${entry.readName}@${navigationTerm}`] = entry.column.navigationProperty;
        if (this.lookupTable) out[`${entry.readName}@${lookupTableTerm}`] = entry.column.target;
      }
      out[entry.readName] = value;
    }
    out[this.primaryId] = row[this.primaryId];
    return out;
  }
}

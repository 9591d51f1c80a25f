import { propertyNotFoundError } from '../dataverse-error.js';
import { readNameOf, type ColumnSchema } from '../schema/table-schema.js';
import type { Row, TableData } from '../store/dataverse-data-store.js';

/**
 * Which columns a response carries and how a stored row becomes a JSON object: `@odata.etag`
 * first, then the selected properties (lookups as `_x_value`), then the primary key even when not
 * selected.
 */
export class RowProjection {
  private readonly entries: { readName: string; logicalName: string; column: ColumnSchema }[];
  private readonly primaryId: string;

  constructor(
    data: TableData,
    select: readonly string[] | undefined,
    private readonly annotateLookups: boolean,
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
  }

  project(row: Row): Record<string, unknown> {
    const out: Record<string, unknown> = { '@odata.etag': `W/"${row.versionnumber}"` };
    for (const entry of this.entries) {
      const value = row[entry.logicalName] ?? null;
      if (this.annotateLookups && entry.column.type === 'lookup' && value !== null) {
        out[`${entry.readName}@Microsoft.Dynamics.CRM.associatednavigationproperty`] =
          entry.column.navigationProperty;
        out[`${entry.readName}@Microsoft.Dynamics.CRM.lookuplogicalname`] = entry.column.target;
      }
      out[entry.readName] = value;
    }
    out[this.primaryId] = row[this.primaryId];
    return out;
  }
}

/** `odata.include-annotations` asks for lookup annotations when it is `*` or names them. */
export function wantsLookupAnnotations(includeAnnotations: string | undefined): boolean {
  if (!includeAnnotations) return false;
  return includeAnnotations
    .split(',')
    .some(
      (a) =>
        a.trim() === '*' ||
        a.includes('Microsoft.Dynamics.CRM.lookuplogicalname') ||
        a.includes('Microsoft.Dynamics.CRM.*'),
    );
}

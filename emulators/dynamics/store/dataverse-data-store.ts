import { randomUUID } from 'node:crypto';
import type { EmulatorClock } from '../../shared/emulator-clock.js';
import {
  DataverseError,
  badRequest,
  dataverseErrorCodes,
  notFoundError,
  propertyNotFoundError,
} from '../dataverse-error.js';
import {
  activityPartyTable,
  isAllowedOption,
  readNameOf,
  type ColumnSchema,
  type TableSchema,
} from '../schema/table-schema.js';

export type RowValue = string | number | boolean | null;
/** A stored row: logical column name → value. Lookups hold the target id under their logical name. */
export type Row = Record<string, RowValue>;

/** The messages a webhook step can be registered for. */
export const changeMessages = ['Create', 'Update', 'Delete'] as const;
export type ChangeMessage = (typeof changeMessages)[number];

/** One committed write, as webhooks and statistics see it. */
export interface ChangeEvent {
  message: ChangeMessage;
  table: TableSchema;
  id: string;
  /** Columns the request set (Create/Update), logical names. */
  changedColumns: string[];
  /** The row after the write (Create/Update) or before it (Delete). */
  row: Row;
  /** The row before the write (Update/Delete). */
  before: Row | undefined;
  context: WriteContext;
}

/** Who made a write, and with which request (for webhook contexts). */
export interface WriteContext {
  userId?: string | undefined;
  correlationId?: string | undefined;
  /** The `tag` query option of the request, surfaced to webhooks as a shared variable. */
  tag?: string | undefined;
  depth?: number | undefined;
}

const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: string): boolean {
  return guidPattern.test(value);
}

/** Dataverse returns date-times in UTC without fractions: `2016-09-28T22:57:53Z`. */
export function formatDateTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Everything the store keeps about one table. */
export class TableData {
  readonly schema: TableSchema;
  readonly columns = new Map<string, ColumnSchema>();
  readonly columnsByReadName = new Map<string, ColumnSchema>();
  readonly columnsByNavigationProperty = new Map<string, ColumnSchema>();
  readonly rows = new Map<string, Row>();
  /** Change log: (version, id) in version order; an entry is current when the row still has that version. */
  logVersions: number[] = [];
  logIds: string[] = [];
  /** Tombstones in version order; valid while `tombstoneOf.get(id) === version`. */
  tombVersions: number[] = [];
  tombIds: string[] = [];
  readonly tombstoneOf = new Map<string, number>();
  /** Audit entries per record id (DeleteRecordChangeHistory counts and clears them). */
  readonly audit = new Map<string, number>();
  /** For each lookup column: target id → ids of rows pointing at it. */
  readonly references = new Map<string, Map<string, Set<string>>>();
  /**
   * For each alternate key: its values (see {@link TableData.keyValueOf}) → the id of the row that
   * holds them, so a duplicate is found without a scan (as the key's index does in Dataverse).
   */
  private keyIndex = new Map<string, Map<string, string>>();
  readonly blank: Row;
  /** Build a row with every column in schema order (one hidden class for all rows of the table). */
  private readonly build: (values: Partial<Row>, defaults: readonly RowValue[]) => Row;
  private readonly defaults: readonly RowValue[];

  constructor(schema: TableSchema) {
    this.schema = schema;
    const blank: Row = {};
    for (const column of schema.columns) {
      this.columns.set(column.logicalName, column);
      this.columnsByReadName.set(readNameOf(column), column);
      if (column.type === 'lookup') {
        this.columnsByNavigationProperty.set(column.navigationProperty ?? column.schemaName, column);
        this.references.set(column.logicalName, new Map());
      }
      blank[column.logicalName] = column.defaultValue ?? null;
    }
    // An activity's parties are found by the activity's id (deleting the activity deletes them).
    if (schema.logicalName === activityPartyTable) this.references.set('activityid', new Map());
    this.blank = blank;
    const names = Object.keys(blank);
    this.defaults = names.map((name) => blank[name] ?? null);
    // An object literal with fixed keys gets V8's fast in-object layout; spreading a template of
    // thirty-odd keys does not, which made a million rows cost several times the time.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    this.build = new Function(
      'v',
      'd',
      `return {${names.map((name, i) => `${JSON.stringify(name)}: v[${JSON.stringify(name)}] !== undefined ? v[${JSON.stringify(name)}] : d[${i}]`).join(', ')}};`,
    ) as (values: Partial<Row>, defaults: readonly RowValue[]) => Row;
  }

  /** A fresh row: the given values (logical names, unchecked), defaults for the rest. */
  newRow(values: Partial<Row> = {}): Row {
    return this.build(values, this.defaults);
  }

  /** A copy of a row with the same fast shape. */
  copyRow(row: Row): Row {
    return this.build(row, this.defaults);
  }

  /**
   * The index text of a row's values for a key: strings compare case-insensitively; undefined when
   * a key column is empty (such rows are not checked).
   */
  keyValueOf(columns: readonly string[], row: Row): string | undefined {
    const parts: string[] = [];
    for (const column of columns) {
      const value = row[column] ?? null;
      if (value === null) return undefined;
      parts.push(typeof value === 'string' ? `s:${value.toLowerCase()}` : `${typeof value}:${String(value)}`);
    }
    return parts.join('\u0000');
  }

  /** The id of the row holding these key values, if any. */
  rowWithKey(keyName: string, value: string): string | undefined {
    return this.keyIndex.get(keyName)?.get(value);
  }

  /** Add (or remove) a row's alternate-key values to (from) the index. */
  indexKeys(id: string, row: Row, add: boolean): void {
    for (const key of this.schema.keys) {
      const value = this.keyValueOf(key.columns, row);
      if (value === undefined) continue;
      let index = this.keyIndex.get(key.name);
      if (!index) this.keyIndex.set(key.name, (index = new Map<string, string>()));
      if (add) index.set(value, id);
      else if (index.get(value) === id) index.delete(value);
    }
  }

  /** Rebuild the key index after the table's keys changed. */
  rebuildKeyIndex(): void {
    this.keyIndex = new Map();
    for (const [id, row] of this.rows) this.indexKeys(id, row, true);
  }

  /** Index of the first log entry with version > `version`. */
  logIndexAfter(version: number): number {
    return upperBound(this.logVersions, version);
  }

  tombIndexAfter(version: number): number {
    return upperBound(this.tombVersions, version);
  }
}

function upperBound(values: number[], target: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] as number) <= target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

type Undo = () => void;

/**
 * In-memory tables with the bookkeeping change tracking needs: one org-wide version counter
 * (`versionnumber`, also the etag), a per-table change log, tombstones for deletes, and an undo
 * journal so a `$batch` change set is atomic. All operations are synchronous, so a change set runs
 * without interleaving.
 */
export class DataverseDataStore {
  private readonly tables = new Map<string, TableData>();
  private readonly byEntitySet = new Map<string, TableData>();
  private currentVersion = 1000;
  private journal: Undo[] | null = null;
  private pendingEvents: ChangeEvent[] | null = null;
  private readonly listeners: ((event: ChangeEvent) => void)[] = [];
  /** Versions below this are treated as expired by delta requests (admin fault). */
  minimumValidVersion = 0;

  constructor(
    schemas: readonly TableSchema[],
    private readonly clock: EmulatorClock,
  ) {
    for (const schema of schemas) this.addTable(schema);
  }

  addTable(schema: TableSchema): TableData {
    const data = new TableData(schema);
    this.tables.set(schema.logicalName, data);
    this.byEntitySet.set(schema.entitySetName, data);
    return data;
  }

  /** Drop all rows and history, keeping the schemas. */
  clear(): void {
    for (const [name, data] of this.tables) {
      const fresh = new TableData(data.schema);
      this.tables.set(name, fresh);
      this.byEntitySet.set(data.schema.entitySetName, fresh);
    }
    this.minimumValidVersion = 0;
  }

  table(logicalName: string): TableData | undefined {
    return this.tables.get(logicalName);
  }

  requireTable(logicalName: string): TableData {
    const data = this.tables.get(logicalName);
    if (!data)
      throw new DataverseError(
        404,
        dataverseErrorCodes.notFound,
        `Could not find an entity with name ${logicalName}`,
      );
    return data;
  }

  tableByEntitySet(entitySetName: string): TableData | undefined {
    return this.byEntitySet.get(entitySetName);
  }

  allTables(): TableData[] {
    return [...this.tables.values()];
  }

  /** The highest version stamped so far (what a delta token minted now would carry). */
  get version(): number {
    return this.currentVersion;
  }

  /**
   * Expire every delta token and tracking cookie minted so far. The counter moves past the
   * expired range so that a full read started right after (with no write in between) mints a
   * snapshot that is valid, as it would be on Dataverse.
   */
  expireVersionsSoFar(): void {
    this.currentVersion += 1;
    this.minimumValidVersion = this.currentVersion;
  }

  onChange(listener: (event: ChangeEvent) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Run `fn` atomically: if it throws, every write it made is undone and no change event is
   * published; otherwise events are published after it returns.
   */
  transaction<T>(fn: () => T): T {
    if (this.journal) return fn();
    const journal: Undo[] = [];
    const events: ChangeEvent[] = [];
    this.journal = journal;
    this.pendingEvents = events;
    try {
      const result = fn();
      this.journal = null;
      this.pendingEvents = null;
      for (const event of events) this.publish(event);
      return result;
    } catch (error) {
      this.journal = null;
      this.pendingEvents = null;
      for (let i = journal.length - 1; i >= 0; i--) (journal[i] as Undo)();
      throw error;
    }
  }

  private publish(event: ChangeEvent): void {
    if (this.listeners.length === 0) return;
    if (this.pendingEvents) {
      this.pendingEvents.push(event);
      return;
    }
    for (const listener of this.listeners) listener(event);
  }

  private record(undo: Undo): void {
    this.journal?.push(undo);
  }

  private nextVersion(): number {
    const previous = this.currentVersion;
    this.record(() => {
      this.currentVersion = previous;
    });
    return ++this.currentVersion;
  }

  private putRow(data: TableData, id: string, row: Row | undefined): void {
    const previous = data.rows.get(id);
    const keyed = data.schema.keys.length > 0;
    if (keyed && previous) data.indexKeys(id, previous, false);
    if (row) data.rows.set(id, row);
    else data.rows.delete(id);
    if (keyed && row) data.indexKeys(id, row, true);
    this.record(() => {
      if (keyed && row) data.indexKeys(id, row, false);
      if (previous) data.rows.set(id, previous);
      else data.rows.delete(id);
      if (keyed && previous) data.indexKeys(id, previous, true);
    });
  }

  private appendLog(data: TableData, version: number, id: string): void {
    data.logVersions.push(version);
    data.logIds.push(id);
    this.record(() => {
      data.logVersions.pop();
      data.logIds.pop();
    });
  }

  private setTombstone(data: TableData, id: string, version: number | undefined): void {
    const previous = data.tombstoneOf.get(id);
    if (version === undefined) {
      data.tombstoneOf.delete(id);
    } else {
      data.tombstoneOf.set(id, version);
      data.tombVersions.push(version);
      data.tombIds.push(id);
    }
    this.record(() => {
      if (version !== undefined) {
        data.tombVersions.pop();
        data.tombIds.pop();
      }
      if (previous === undefined) data.tombstoneOf.delete(id);
      else data.tombstoneOf.set(id, previous);
    });
  }

  private bumpAudit(data: TableData, id: string): void {
    const previous = data.audit.get(id);
    data.audit.set(id, (previous ?? 0) + 1);
    this.record(() => {
      if (previous === undefined) data.audit.delete(id);
      else data.audit.set(id, previous);
    });
  }

  private setReference(data: TableData, column: string, target: RowValue, id: string, add: boolean): void {
    if (typeof target !== 'string') return;
    const index = data.references.get(column);
    if (!index) return;
    const apply = (adding: boolean): void => {
      let set = index.get(target);
      if (adding) {
        if (!set) index.set(target, (set = new Set()));
        set.add(id);
      } else if (set) {
        set.delete(id);
        if (set.size === 0) index.delete(target);
      }
    };
    apply(add);
    this.record(() => apply(!add));
  }

  /** Convert and check a value for a column; throws the Web API's validation errors. */
  normalizeValue(data: TableData, column: ColumnSchema, value: unknown): RowValue {
    const table = data.schema;
    if (value === null || value === undefined) return null;
    const typeError = (edmType: string): DataverseError =>
      new DataverseError(
        400,
        dataverseErrorCodes.payload,
        `Error identified in Payload provided by the user for Entity :'${table.entitySetName}', For more information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ----> InnerException : Microsoft.OData.ODataException: Cannot convert the literal for property '${column.logicalName}' to the expected type '${edmType}'.`,
      );
    switch (column.type) {
      case 'string':
      case 'memo': {
        if (typeof value !== 'string') throw typeError('Edm.String');
        if (column.maxLength !== undefined && value.length > column.maxLength) {
          throw new DataverseError(
            400,
            dataverseErrorCodes.validation,
            `A validation error occurred.  The length of the '${column.logicalName}' attribute of the '${table.logicalName}' entity exceeded the maximum allowed length of '${column.maxLength}'.`,
          );
        }
        return value;
      }
      case 'integer':
      case 'bigint':
      case 'picklist':
      case 'state':
      case 'status': {
        if (typeof value !== 'number' || !Number.isInteger(value)) throw typeError('Edm.Int32');
        if (!isAllowedOption(column, value)) {
          throw new DataverseError(
            400,
            dataverseErrorCodes.validation,
            `A validation error occurred.  The value of '${column.logicalName}' on record of type '${table.logicalName}' is outside the valid range.`,
          );
        }
        return value;
      }
      case 'decimal':
      case 'double':
      case 'money':
        if (typeof value !== 'number' || !Number.isFinite(value)) throw typeError('Edm.Decimal');
        return value;
      case 'boolean':
        if (typeof value !== 'boolean') throw typeError('Edm.Boolean');
        return value;
      case 'datetime': {
        const ms = typeof value === 'string' ? Date.parse(value) : NaN;
        if (Number.isNaN(ms)) throw typeError('Edm.DateTimeOffset');
        return formatDateTime(ms);
      }
      case 'dateonly': {
        if (
          typeof value !== 'string' ||
          !/^\d{4}-\d{2}-\d{2}/.test(value) ||
          Number.isNaN(Date.parse(value.slice(0, 10)))
        ) {
          throw typeError('Edm.Date');
        }
        return value.slice(0, 10);
      }
      case 'uniqueidentifier':
        if (typeof value !== 'string' || !isGuid(value)) throw typeError('Edm.Guid');
        return value.toLowerCase();
      case 'multiselectpicklist': {
        // The chosen values joined by commas ("1,3"); '' clears the column, like null.
        if (typeof value !== 'string' || !/^\s*(-?\d+\s*(,\s*-?\d+\s*)*)?$/.test(value))
          throw typeError('Edm.String');
        const chosen = [
          ...new Set(
            value
              .split(',')
              .filter((v) => v.trim() !== '')
              .map(Number),
          ),
        ];
        if (chosen.some((v) => !isAllowedOption(column, v))) {
          throw new DataverseError(
            400,
            dataverseErrorCodes.validation,
            `A validation error occurred.  The value of '${column.logicalName}' on record of type '${table.logicalName}' is outside the valid range.`,
          );
        }
        return chosen.length > 0 ? chosen.join(',') : null;
      }
      case 'lookup': {
        if (typeof value !== 'string' || !isGuid(value)) throw typeError('Edm.Guid');
        const id = value.toLowerCase();
        const target = this.requireTable(column.target ?? '');
        if (!target.rows.has(id)) throw notFoundError(target.schema.logicalName, id);
        return id;
      }
    }
  }

  /**
   * Create a row. `values` holds logical column names (lookups: target id). Read-only columns are
   * ignored, as Dataverse does; an explicit primary id is honoured.
   */
  create(
    logicalName: string,
    values: Record<string, unknown>,
    context: WriteContext = {},
    explicitId?: string,
  ): Row {
    const data = this.requireTable(logicalName);
    const schema = data.schema;
    const id = (
      explicitId ??
      (values[schema.primaryIdAttribute] as string | undefined) ??
      randomUUID()
    ).toLowerCase();
    if (!isGuid(id))
      throw badRequest(`Invalid value for ${schema.primaryIdAttribute}.`, dataverseErrorCodes.payload);
    if (data.rows.has(id)) {
      throw new DataverseError(
        412,
        dataverseErrorCodes.duplicateRecord,
        'A record with matching key values already exists.',
      );
    }
    const row = data.newRow();
    const changed = this.applyValues(data, row, values);
    if (changed.includes('statecode') && !changed.includes('statuscode')) this.applyDefaultStatus(data, row);
    const now = formatDateTime(this.clock.now());
    row[schema.primaryIdAttribute] = id;
    row.createdon = now;
    row.modifiedon = now;
    this.computeColumns(data, row);
    this.checkAlternateKeys(data, row, id);
    const version = this.nextVersion();
    row.versionnumber = version;
    this.putRow(data, id, row);
    this.appendLog(data, version, id);
    if (data.tombstoneOf.has(id)) this.setTombstone(data, id, undefined);
    this.bumpAudit(data, id);
    for (const column of data.references.keys())
      this.setReference(data, column, row[column] ?? null, id, true);
    this.publish({
      message: 'Create',
      table: schema,
      id,
      changedColumns: changed,
      row: { ...row },
      before: undefined,
      context,
    });
    return row;
  }

  /**
   * Alternate-key values are unique ("if you set a key on a column and try to enter duplicate
   * data, the record fails to save"). A row with an empty key column is not checked; strings
   * compare case-insensitively. Message, status and code are our best guess (not documented).
   */
  private checkAlternateKeys(data: TableData, row: Row, id: string): void {
    for (const key of data.schema.keys) {
      const value = data.keyValueOf(key.columns, row);
      if (value === undefined) continue;
      const holder = data.rowWithKey(key.name, value);
      if (holder !== undefined && holder !== id) {
        throw new DataverseError(
          412,
          dataverseErrorCodes.duplicateEntityKey,
          `A record that has the attribute values ${key.columns.join(', ')} already exists. The entity key ${key.name} requires that this set of attributes contains unique values. Select unique values and try again.`,
        );
      }
    }
  }

  /**
   * Fast path for seeding: insert a complete row built from {@link TableData.newRow} without
   * validation, audit or change events. It still gets a version, so change tracking returns it.
   */
  insertSeedRow(data: TableData, row: Row): void {
    const id = row[data.schema.primaryIdAttribute] as string;
    this.computeColumns(data, row);
    const version = this.nextVersion();
    row.versionnumber = version;
    this.putRow(data, id, row);
    this.appendLog(data, version, id);
    for (const column of data.references.keys())
      this.setReference(data, column, row[column] ?? null, id, true);
  }

  /** Update columns of an existing row; every update stamps a new version, even with unchanged values. */
  update(logicalName: string, id: string, values: Record<string, unknown>, context: WriteContext = {}): Row {
    const data = this.requireTable(logicalName);
    const key = id.toLowerCase();
    const existing = data.rows.get(key);
    if (!existing) throw notFoundError(logicalName, key);
    const row: Row = data.copyRow(existing);
    const changed = this.applyValues(data, row, values);
    if (changed.includes('statecode') && !changed.includes('statuscode')) this.applyDefaultStatus(data, row);
    row.modifiedon = formatDateTime(this.clock.now());
    this.computeColumns(data, row);
    if (data.schema.keys.some((k) => k.columns.some((c) => changed.includes(c))))
      this.checkAlternateKeys(data, row, key);
    const version = this.nextVersion();
    row.versionnumber = version;
    for (const column of data.references.keys()) {
      if (existing[column] !== row[column]) {
        this.setReference(data, column, existing[column] ?? null, key, false);
        this.setReference(data, column, row[column] ?? null, key, true);
      }
    }
    this.putRow(data, key, row);
    this.appendLog(data, version, key);
    this.bumpAudit(data, key);
    this.publish({
      message: 'Update',
      table: data.schema,
      id: key,
      changedColumns: changed,
      row: { ...row },
      before: existing,
      context,
    });
    return row;
  }

  /** A row moved to another state gets that state's default status reason. */
  private applyDefaultStatus(data: TableData, row: Row): void {
    const option = data.columns.get('statecode')?.options?.find((o) => o.value === row.statecode);
    if (option?.defaultStatus !== undefined) row.statuscode = option.defaultStatus;
  }

  /** Delete a row, applying each referencing relationship's delete behaviour first. */
  delete(logicalName: string, id: string, context: WriteContext = {}): void {
    const data = this.requireTable(logicalName);
    const key = id.toLowerCase();
    const existing = data.rows.get(key);
    if (!existing) throw notFoundError(logicalName, key);
    this.applyDeleteBehaviours(data, key, context);
    if (data.schema.isActivity) {
      const parties = this.tables.get(activityPartyTable);
      for (const partyId of [...(parties?.references.get('activityid')?.get(key) ?? [])])
        this.delete(activityPartyTable, partyId, context);
    }
    for (const column of data.references.keys())
      this.setReference(data, column, existing[column] ?? null, key, false);
    this.putRow(data, key, undefined);
    this.setTombstone(data, key, this.nextVersion());
    this.bumpAudit(data, key);
    this.publish({
      message: 'Delete',
      table: data.schema,
      id: key,
      changedColumns: [],
      row: existing,
      before: existing,
      context,
    });
  }

  private applyDeleteBehaviours(target: TableData, id: string, context: WriteContext): void {
    for (const child of this.tables.values()) {
      for (const column of child.schema.columns) {
        if (column.type !== 'lookup' || column.target !== target.schema.logicalName) continue;
        const referrers = child.references.get(column.logicalName)?.get(id);
        if (!referrers || referrers.size === 0) continue;
        for (const childId of [...referrers]) {
          if (child === target && childId === id) continue;
          if (!child.rows.has(childId)) continue;
          if (column.onDelete === 'restrict') {
            throw badRequest(
              `The record cannot be deleted because it is referenced by ${child.schema.logicalName} records through '${column.logicalName}'.`,
            );
          }
          if (column.onDelete === 'cascade') this.delete(child.schema.logicalName, childId, context);
          else this.update(child.schema.logicalName, childId, { [column.logicalName]: null }, context);
        }
      }
    }
  }

  private applyValues(data: TableData, row: Row, values: Record<string, unknown>): string[] {
    const changed: string[] = [];
    for (const [name, value] of Object.entries(values)) {
      const column = data.columns.get(name);
      if (!column) throw propertyNotFoundError(name, data.schema.logicalName);
      if (column.readOnly) continue;
      row[name] = this.normalizeValue(data, column, value);
      changed.push(name);
    }
    return changed;
  }

  private computeColumns(data: TableData, row: Row): void {
    if (data.schema.logicalName === 'contact') {
      const first = typeof row.firstname === 'string' ? row.firstname : '';
      const last = typeof row.lastname === 'string' ? row.lastname : '';
      const full = `${first} ${last}`.trim();
      row.fullname = full === '' ? null : full;
    }
  }

  /** Count and clear the audit entries of one record (DeleteRecordChangeHistory). */
  deleteChangeHistory(logicalName: string, id: string): number {
    const data = this.requireTable(logicalName);
    const key = id.toLowerCase();
    const count = data.audit.get(key) ?? 0;
    data.audit.delete(key);
    return count;
  }

  /**
   * Live rows whose current version lies in (`afterVersion`, `upToVersion`], in version order.
   * Stale log entries (rows updated or deleted since) are skipped.
   */
  *changedRows(data: TableData, afterVersion: number, upToVersion = Infinity): Generator<Row> {
    const versions = data.logVersions;
    const ids = data.logIds;
    for (let i = data.logIndexAfter(afterVersion); i < versions.length; i++) {
      const version = versions[i] as number;
      if (version > upToVersion) return;
      const row = data.rows.get(ids[i] as string);
      if (row && row.versionnumber === version) yield row;
    }
  }

  /** Valid tombstones in (`afterVersion`, `upToVersion`], in version order. */
  *deletedIds(
    data: TableData,
    afterVersion: number,
    upToVersion = Infinity,
  ): Generator<{ id: string; version: number }> {
    const versions = data.tombVersions;
    for (let i = data.tombIndexAfter(afterVersion); i < versions.length; i++) {
      const version = versions[i] as number;
      if (version > upToVersion) return;
      const id = data.tombIds[i] as string;
      if (data.tombstoneOf.get(id) === version) yield { id, version };
    }
  }

  /** Drop stale change-log entries when they outnumber live rows, to keep memory bounded. */
  compact(): void {
    for (const data of this.tables.values()) {
      if (data.logVersions.length < 2 * data.rows.size + 10_000) continue;
      const versions: number[] = [];
      const ids: string[] = [];
      for (let i = 0; i < data.logVersions.length; i++) {
        const id = data.logIds[i] as string;
        if (data.rows.get(id)?.versionnumber === data.logVersions[i]) {
          versions.push(data.logVersions[i] as number);
          ids.push(id);
        }
      }
      data.logVersions = versions;
      data.logIds = ids;
    }
  }
}

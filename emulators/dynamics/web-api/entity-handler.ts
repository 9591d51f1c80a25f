import {
  DataverseError,
  alternateKeyNotFound,
  badRequest,
  dataverseErrorCodes,
  invalidKeyError,
  notFoundError,
  propertyNotFoundError,
} from '../dataverse-error.js';
import { parsePrefer, type ParsedPrefer, type QueryOptions } from '../odata/odata-request.js';
import type { DataverseDataStore, Row, TableData, WriteContext } from '../store/dataverse-data-store.js';
import { activityPartyTable } from '../schema/table-schema.js';
import { RowProjection } from './row-projection.js';
import {
  apiPathPrefix,
  emptyResponse,
  jsonResponse,
  type WebApiRequest,
  type WebApiResponse,
} from './web-api-types.js';

const bindSuffix = '@odata.bind';
const bindTarget =
  /(?:^|\/)(\w+)\(([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\)$/;

function payloadError(data: TableData, detail: string): DataverseError {
  return new DataverseError(
    400,
    dataverseErrorCodes.payload,
    `Error identified in Payload provided by the user for Entity :'${data.schema.entitySetName}', For more information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ----> InnerException : ${detail}`,
  );
}

/** Parse a JSON request body into an object (empty body → empty object). */
export function parseJsonObject(data: TableData, body: string | undefined): Record<string, unknown> {
  if (body === undefined || body.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw payloadError(
      data,
      'Microsoft.OData.ODataException: Does not support untyped value in non-open type.',
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw payloadError(data, 'Microsoft.OData.ODataException: The payload must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

/** The weak etag a row carries. */
export function etagOf(row: Row): string {
  return `W/"${row.versionnumber}"`;
}

function sameEtag(header: string, row: Row): boolean {
  const wanted = header.trim().replace(/^W\//, '');
  return wanted === `"${row.versionnumber}"`;
}

/**
 * Single-record operations: GET (with `If-None-Match` → 304), create (POST), update and upsert
 * (PATCH with the conditional headers), single-property PUT/DELETE, DELETE.
 */
export class EntityHandler {
  constructor(
    private readonly store: DataverseDataStore,
    private readonly origin: string,
  ) {}

  entityUrl(data: TableData, id: string): string {
    return `${this.origin}${apiPathPrefix}${data.schema.entitySetName}(${id})`;
  }

  private context(data: TableData, query: QueryOptions): string {
    const select = query.selectText ? `(${query.selectText})` : '';
    return `${this.origin}${apiPathPrefix}$metadata#${data.schema.entitySetName}${select}/$entity`;
  }

  private representation(
    data: TableData,
    row: Row,
    query: QueryOptions,
    prefer: ParsedPrefer,
  ): Record<string, unknown> {
    const projection = new RowProjection(data, query.select, prefer.includeAnnotations, this.store);
    return { '@odata.context': this.context(data, query), ...projection.project(row) };
  }

  get(
    data: TableData,
    id: string,
    property: string | undefined,
    query: QueryOptions,
    request: WebApiRequest,
  ): WebApiResponse {
    const row = data.rows.get(id);
    if (!row) throw notFoundError(data.schema.logicalName, id);
    const prefer = parsePrefer(request.headers.prefer);
    const ifNoneMatch = request.headers['if-none-match'];
    if (
      ifNoneMatch &&
      ifNoneMatch !== 'null' &&
      prefer.includeAnnotations === undefined &&
      sameEtag(ifNoneMatch, row)
    ) {
      return emptyResponse(304, { etag: etagOf(row) });
    }
    if (property !== undefined) {
      const column = data.columnsByReadName.get(property);
      if (!column) throw propertyNotFoundError(property, data.schema.logicalName);
      return jsonResponse(200, {
        '@odata.context': `${this.origin}${apiPathPrefix}$metadata#${data.schema.entitySetName}(${id})/${property}`,
        value: row[column.logicalName] ?? null,
      });
    }
    return jsonResponse(200, this.representation(data, row, query, prefer), {
      etag: etagOf(row),
      ...(prefer.includeAnnotations !== undefined
        ? { 'preference-applied': `odata.include-annotations="${prefer.includeAnnotations}"` }
        : {}),
    });
  }

  /** Convert an OData entity payload to logical column values; `@odata.bind` resolves lookups. */
  toColumnValues(data: TableData, payload: Record<string, unknown>): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(payload)) {
      if (key.endsWith(bindSuffix)) {
        const navigation = key.slice(0, -bindSuffix.length);
        const column = data.columnsByNavigationProperty.get(navigation);
        if (!column) {
          throw new DataverseError(
            400,
            dataverseErrorCodes.propertyNotFound,
            `An undeclared property '${navigation}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.`,
          );
        }
        values[column.logicalName] =
          value === null ? null : this.resolveBind(data, column.target ?? '', value);
        continue;
      }
      if (key.includes('@')) continue;
      const column = data.columns.get(key);
      if (!column || column.type === 'lookup') throw propertyNotFoundError(key, data.schema.logicalName);
      values[key] = value;
    }
    return values;
  }

  private resolveBind(data: TableData, targetLogicalName: string, value: unknown): string {
    const target = this.store.requireTable(targetLogicalName);
    const match = typeof value === 'string' ? bindTarget.exec(value.split('?')[0] ?? '') : null;
    if (!match || match[1] !== target.schema.entitySetName) {
      throw payloadError(
        data,
        `Microsoft.OData.ODataException: The @odata.bind value must reference an entity of set '${target.schema.entitySetName}'.`,
      );
    }
    return (match[2] as string).toLowerCase();
  }

  create(
    data: TableData,
    query: QueryOptions,
    request: WebApiRequest,
    context: WriteContext,
  ): WebApiResponse {
    const prefer = parsePrefer(request.headers.prefer);
    const payload = parseJsonObject(data, request.body);
    const parties = this.takeActivityParties(data, payload);
    const values = this.toColumnValues(data, payload);
    const row = this.store.transaction(() => {
      const created = this.store.create(data.schema.logicalName, values, context);
      const activityid = created[data.schema.primaryIdAttribute] as string;
      for (const party of parties) this.store.create(activityPartyTable, { ...party, activityid }, context);
      return created;
    });
    return this.written(data, row, query, prefer, 201);
  }

  /**
   * Deep insert of an activity's parties (`<table>_activity_parties: [{ "partyid_contact@odata.bind":
   * "/contacts(…)", "participationtypemask": 11 }]`): removed from the payload and returned as
   * activity-party column values, created with the activity in one transaction.
   */
  private takeActivityParties(data: TableData, payload: Record<string, unknown>): Record<string, unknown>[] {
    const property = `${data.schema.logicalName}_activity_parties`;
    if (!data.schema.isActivity || !(property in payload)) return [];
    const items = payload[property];
    delete payload[property];
    if (!Array.isArray(items)) {
      throw payloadError(
        data,
        `Microsoft.OData.ODataException: The property '${property}' is a collection-valued navigation property and needs an array of entities.`,
      );
    }
    const parties = this.store.requireTable(activityPartyTable);
    return items.map((item: unknown) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item))
        throw payloadError(
          data,
          `Microsoft.OData.ODataException: An item of '${property}' is not an entity.`,
        );
      return this.toColumnValues(parties, item as Record<string, unknown>);
    });
  }

  private written(
    data: TableData,
    row: Row,
    query: QueryOptions,
    prefer: ParsedPrefer,
    status: 200 | 201,
  ): WebApiResponse {
    const id = row[data.schema.primaryIdAttribute] as string;
    if (prefer.returnRepresentation) {
      return jsonResponse(status, this.representation(data, row, query, prefer), {
        'preference-applied': 'return=representation',
        etag: etagOf(row),
      });
    }
    return emptyResponse(204, { 'odata-entityid': this.entityUrl(data, id) });
  }

  /**
   * The row an alternate key names (`contacts(emailaddress1='…')`): the key properties must be
   * exactly the columns of one of the table's keys (lookups by their `_x_value` name). Strings
   * compare case-insensitively, as Dataverse's collation does.
   */
  resolveAlternateKey(
    data: TableData,
    written: Record<string, string | number | boolean>,
  ): { id: string | undefined; keyValues: Record<string, unknown> } {
    const keyValues: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(written)) {
      const column = data.columnsByReadName.get(name);
      if (!column) throw invalidKeyError(data.schema.logicalName);
      keyValues[column.logicalName] = value;
    }
    const names = Object.keys(keyValues).sort();
    const declared = data.schema.keys.some(
      (key) => key.columns.length === names.length && [...key.columns].sort().every((c, i) => c === names[i]),
    );
    if (!declared) throw invalidKeyError(data.schema.logicalName);
    const same = (a: unknown, b: unknown): boolean =>
      typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : a === b;
    for (const row of data.rows.values()) {
      if (names.every((name) => same(row[name], keyValues[name])))
        return { id: row[data.schema.primaryIdAttribute] as string, keyValues };
    }
    return { id: undefined, keyValues };
  }

  /**
   * PATCH: update, upsert, or create-only, following `If-Match` / `If-None-Match`. Addressed by an
   * alternate key, the URL's key values win on update (key columns in the body are dropped) and
   * seed a created row (the body's own values still apply), as use-upsert-insert-update-record says.
   */
  patch(
    data: TableData,
    id: string,
    query: QueryOptions,
    request: WebApiRequest,
    context: WriteContext,
    keyValues?: Record<string, unknown>,
  ): WebApiResponse {
    const prefer = parsePrefer(request.headers.prefer);
    const ifMatch = request.headers['if-match'];
    const ifNoneMatch = request.headers['if-none-match'];
    const values = this.toColumnValues(data, parseJsonObject(data, request.body));
    const existing = data.rows.get(id);
    if (ifNoneMatch?.trim() === '*' && existing) {
      throw new DataverseError(412, '', 'A record with matching key values already exists.');
    }
    if (ifMatch !== undefined) {
      if (!existing)
        throw keyValues ? alternateKeyNotFound(data) : notFoundError(data.schema.logicalName, id);
      if (ifMatch.trim() !== '*' && !sameEtag(ifMatch, existing)) {
        throw new DataverseError(
          412,
          dataverseErrorCodes.versionMismatch,
          "The version of the existing record doesn't match the RowVersion property provided.",
        );
      }
    }
    if (existing) {
      // Key values in the URL win: a primary key in the body is dropped on update.
      delete values[data.schema.primaryIdAttribute];
      for (const name of Object.keys(keyValues ?? {})) delete values[name];
      const row = this.store.update(data.schema.logicalName, id, values, context);
      return this.written(data, row, query, prefer, 200);
    }
    const row = this.store.create(data.schema.logicalName, { ...keyValues, ...values }, context, id);
    return this.written(data, row, query, prefer, 201);
  }

  /** PUT of a single property (`{"value": …}`) or DELETE of one (clears it). */
  setProperty(
    data: TableData,
    id: string,
    property: string,
    value: unknown,
    context: WriteContext,
  ): WebApiResponse {
    const column = data.columns.get(property);
    if (!column || column.type === 'lookup') throw propertyNotFoundError(property, data.schema.logicalName);
    this.store.update(data.schema.logicalName, id, { [property]: value }, context);
    return emptyResponse(204);
  }

  putProperty(
    data: TableData,
    id: string,
    property: string,
    request: WebApiRequest,
    context: WriteContext,
  ): WebApiResponse {
    const payload = parseJsonObject(data, request.body);
    if (!('value' in payload)) throw badRequest('A single-property PUT needs a body {"value": …}.');
    return this.setProperty(data, id, property, payload.value, context);
  }

  delete(data: TableData, id: string, request: WebApiRequest, context: WriteContext): WebApiResponse {
    const existing = data.rows.get(id);
    if (!existing) throw notFoundError(data.schema.logicalName, id);
    const ifMatch = request.headers['if-match'];
    if (ifMatch !== undefined && ifMatch.trim() !== '*' && !sameEtag(ifMatch, existing)) {
      throw new DataverseError(
        412,
        dataverseErrorCodes.versionMismatch,
        "The version of the existing record doesn't match the RowVersion property provided.",
      );
    }
    this.store.delete(data.schema.logicalName, id, context);
    return emptyResponse(204);
  }
}

import type { EmulatorClock } from '../../shared/emulator-clock.js';
import {
  DataverseError,
  badRequest,
  dataverseErrorCodes,
  propertyNotFoundError,
} from '../dataverse-error.js';
import { compileFilter, type FilterProperty } from '../odata/odata-filter.js';
import type { ParsedPrefer, QueryOptions } from '../odata/odata-request.js';
import {
  encodeQueryValue,
  formatDeltaToken,
  formatSkipToken,
  parseDeltaToken,
  parseSkipToken,
  type PagingCookie,
} from '../odata/paging-tokens.js';
import { readNameOf, type ColumnSchema } from '../schema/table-schema.js';
import type { DataverseDataStore, Row, TableData } from '../store/dataverse-data-store.js';
import { RowProjection } from './row-projection.js';
import { apiPathPrefix, jsonResponse, type WebApiResponse } from './web-api-types.js';

/** Behaviour of collection reads where the reference notes are silent. */
export interface CollectionReaderSettings {
  /** Server maximum page size. @default 5000 */
  maxPageSize: number;
  /** Days a delta token stays valid (`expirechangetrackingindays`). @default 7 */
  retentionDays: number;
  /** HTTP status for ExpiredVersionStamp (undocumented for the Web API). @default 400 */
  expiredTokenStatus: number;
  /** Cap of `@odata.count` (Dataverse counts at most 5,000). @default 5000 */
  countLimit: number;
  /**
   * Fault: the last change-tracking page carries no `@odata.deltaLink`, as in the 2019 bug report
   * (powerapps-docs#439). @default false
   */
  omitDeltaLink: boolean;
  /**
   * `@odata.context` of a delta read's second and later pages: `delta` keeps the documented
   * `…/$delta` suffix of a delta page, `plain` writes the entity set's context without it (whether
   * Dataverse pages a delta at all, and what later pages say, is undocumented). @default 'delta'
   */
  laterDeltaPagesContext: LaterDeltaPagesContext;
  /**
   * Fault: answer every delta link (a `$deltatoken` query) with this error instead of its changes —
   * an undocumented refusal (e.g. `422`, `0x80040203`), to prove the client does not retry it
   * forever. Null = off. @default null
   */
  deltaLinkRefusal: DeltaLinkRefusal | null;
}

export const laterDeltaPagesContexts = ['delta', 'plain'] as const;
export type LaterDeltaPagesContext = (typeof laterDeltaPagesContexts)[number];

/** An error answered to delta links (fault). */
export interface DeltaLinkRefusal {
  status: number;
  code: string;
  message: string;
  /** Refuse this many more delta links, then answer them again; absent = every one. */
  times?: number | undefined;
}

const trackingRefused = ['$filter', '$orderby', '$expand', '$top'] as const;

function filterKind(column: ColumnSchema): FilterProperty<Row>['kind'] {
  switch (column.type) {
    case 'string':
    case 'memo':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'datetime':
      return 'datetime';
    case 'dateonly':
      return 'date';
    case 'uniqueidentifier':
    case 'lookup':
      return 'guid';
    default:
      return 'number';
  }
}

/**
 * `GET <entityset>`: plain queries ($select, $filter, $orderby, $top, $count, paging) and change
 * tracking (initial sync, delta links, `$deletedEntity` rows, expiry).
 */
export class CollectionReader {
  constructor(
    private readonly store: DataverseDataStore,
    private readonly origin: string,
    private readonly clock: EmulatorClock,
    private readonly settings: () => CollectionReaderSettings,
  ) {}

  private get base(): string {
    return `${this.origin}${apiPathPrefix}`;
  }

  private context(data: TableData, query: QueryOptions, suffix = ''): string {
    const select = query.selectText ? `(${query.selectText})` : '';
    return `${this.base}$metadata#${data.schema.entitySetName}${select}${suffix}`;
  }

  private link(data: TableData, query: QueryOptions, extra: Record<string, string>): string {
    const parts: string[] = [];
    if (query.selectText) parts.push(`$select=${query.selectText}`);
    for (const [key, value] of Object.entries(extra)) parts.push(`${key}=${encodeQueryValue(value)}`);
    return `${this.base}${data.schema.entitySetName}?${parts.join('&')}`;
  }

  private pageSize(prefer: ParsedPrefer): number {
    return Math.min(prefer.maxPageSize ?? this.settings().maxPageSize, this.settings().maxPageSize);
  }

  private preferenceApplied(prefer: ParsedPrefer, tracking: boolean): Record<string, string> {
    const applied: string[] = [];
    if (tracking && prefer.trackChanges) applied.push('odata.track-changes');
    if (prefer.maxPageSize !== undefined) applied.push(`odata.maxpagesize=${this.pageSize(prefer)}`);
    if (prefer.includeAnnotations !== undefined)
      applied.push(`odata.include-annotations="${prefer.includeAnnotations}"`);
    return applied.length > 0 ? { 'preference-applied': applied.join(',') } : {};
  }

  read(data: TableData, query: QueryOptions, prefer: ParsedPrefer): WebApiResponse {
    const cookie = query.skiptoken !== undefined ? parseSkipToken(query.skiptoken) : undefined;
    const tracking = prefer.trackChanges || query.deltatoken !== undefined || cookie?.tracking === true;
    if (tracking) return this.readChanges(data, query, prefer, cookie);
    return this.readQuery(data, query, prefer, cookie);
  }

  private expired(): DataverseError {
    return new DataverseError(
      this.settings().expiredTokenStatus,
      dataverseErrorCodes.expiredVersionStamp,
      'Version stamp associated with the client has expired. Please perform a full sync.',
    );
  }

  private checkNotExpired(version: number, issuedAt: number): void {
    const retentionMs = this.settings().retentionDays * 86_400_000;
    if (this.clock.now() - issuedAt > retentionMs || version < this.store.minimumValidVersion)
      throw this.expired();
  }

  private readChanges(
    data: TableData,
    query: QueryOptions,
    prefer: ParsedPrefer,
    cookie: PagingCookie | undefined,
  ): WebApiResponse {
    for (const option of trackingRefused) {
      const present =
        (option === '$filter' && query.filter !== undefined) ||
        (option === '$orderby' && query.orderby !== undefined) ||
        (option === '$expand' && query.expand !== undefined) ||
        (option === '$top' && query.top !== undefined);
      if (present) {
        throw badRequest(`The "${option}" query parameter isn't supported when Change Tracking is enabled.`);
      }
    }
    if (!data.schema.changeTrackingEnabled) {
      throw new DataverseError(
        400,
        dataverseErrorCodes.changeTrackingNotEnabled,
        `Entity ${data.schema.logicalName} isn't enabled for change tracking.`,
      );
    }
    const projection = new RowProjection(data, query.select, prefer.includeAnnotations, this.store);
    const now = this.clock.now();
    let state: PagingCookie;
    if (cookie) {
      if (!cookie.tracking) throw badRequest('The $skiptoken does not belong to a change-tracking query.');
      state = cookie;
      this.checkNotExpired(cookie.since >= 0 ? cookie.since : cookie.snapshot, cookie.issuedAt);
    } else if (query.deltatoken !== undefined) {
      const refusal = this.settings().deltaLinkRefusal;
      if (refusal && (refusal.times === undefined || refusal.times > 0)) {
        if (refusal.times !== undefined) refusal.times -= 1;
        throw new DataverseError(refusal.status, refusal.code, refusal.message);
      }
      const token = parseDeltaToken(query.deltatoken);
      this.checkNotExpired(token.version, token.issuedAt);
      state = {
        page: 1,
        after: token.version,
        offset: 0,
        snapshot: this.store.version,
        since: token.version,
        phase: 'u',
        issuedAt: now,
        tracking: true,
      };
    } else {
      state = {
        page: 1,
        after: 0,
        offset: 0,
        snapshot: this.store.version,
        since: -1,
        phase: 'u',
        issuedAt: now,
        tracking: true,
      };
    }
    const isDelta = state.since >= 0;
    const pageSize = this.pageSize(prefer);
    const value: Record<string, unknown>[] = [];
    let next: PagingCookie | undefined;
    let phase = state.phase;
    let after = state.after;
    if (phase === 'u') {
      for (const row of this.store.changedRows(data, after, state.snapshot)) {
        if (value.length >= pageSize) {
          next = { ...state, page: state.page + 1, after, phase: 'u' };
          break;
        }
        value.push(projection.project(row));
        after = row.versionnumber as number;
      }
      if (!next && isDelta) {
        phase = 'd';
        after = state.since;
      }
    }
    if (!next && phase === 'd') {
      const deletedContext = `${this.base}$metadata#${data.schema.entitySetName}/$deletedEntity`;
      for (const tombstone of this.store.deletedIds(data, after, state.snapshot)) {
        if (value.length >= pageSize) {
          next = { ...state, page: state.page + 1, after, phase: 'd' };
          break;
        }
        value.push({ '@odata.context': deletedContext, id: tombstone.id, reason: 'deleted' });
        after = tombstone.version;
      }
    }
    const headers = this.preferenceApplied(prefer, true);
    const laterPlain = state.page > 1 && this.settings().laterDeltaPagesContext === 'plain';
    const context = this.context(data, query, isDelta && !laterPlain ? '/$delta' : '');
    if (next) {
      return jsonResponse(
        200,
        {
          '@odata.context': context,
          value,
          '@odata.nextLink': this.link(data, query, { $skiptoken: formatSkipToken(next) }),
        },
        headers,
      );
    }
    if (this.settings().omitDeltaLink)
      return jsonResponse(200, { '@odata.context': context, value }, headers);
    const deltaLink = this.link(data, query, {
      $deltatoken: formatDeltaToken({ version: state.snapshot, issuedAt: now }),
    });
    return jsonResponse(200, { '@odata.context': context, '@odata.deltaLink': deltaLink, value }, headers);
  }

  private resolver(data: TableData): (name: string) => FilterProperty<Row> {
    return (name) => {
      const column = data.columnsByReadName.get(name);
      if (!column) throw propertyNotFoundError(name, data.schema.logicalName);
      const key = column.logicalName;
      return { get: (row) => row[key], kind: filterKind(column) };
    };
  }

  private comparator(data: TableData, orderby: string): (a: Row, b: Row) => number {
    const keys = orderby.split(',').map((part) => {
      const [name, direction] = part.trim().split(/\s+/);
      const column = data.columnsByReadName.get(name ?? '');
      if (!column) throw propertyNotFoundError(name ?? '', data.schema.logicalName);
      return { key: column.logicalName, sign: direction?.toLowerCase() === 'desc' ? -1 : 1 };
    });
    return (a, b) => {
      for (const { key, sign } of keys) {
        const x = a[key] ?? null;
        const y = b[key] ?? null;
        if (x === y) continue;
        if (x === null) return -sign;
        if (y === null) return sign;
        const left = typeof x === 'string' ? x.toLowerCase() : x;
        const right = typeof y === 'string' ? y.toLowerCase() : y;
        if (left < right) return -sign;
        if (left > right) return sign;
      }
      return 0;
    };
  }

  private readQuery(
    data: TableData,
    query: QueryOptions,
    prefer: ParsedPrefer,
    cookie: PagingCookie | undefined,
  ): WebApiResponse {
    if (query.expand !== undefined) {
      throw badRequest('The emulator does not support $expand on entity sets.');
    }
    if (query.deltatoken !== undefined) throw badRequest('A $deltatoken needs a change-tracking query.');
    const projection = new RowProjection(data, query.select, prefer.includeAnnotations, this.store);
    const predicate =
      query.filter !== undefined ? compileFilter(query.filter, this.resolver(data)) : () => true;
    // $top is ignored when odata.maxpagesize is also sent (reference notes §3.2).
    const top = prefer.maxPageSize === undefined ? query.top : undefined;
    const pageSize = top !== undefined ? Math.min(top, this.settings().maxPageSize) : this.pageSize(prefer);
    const page = cookie?.page ?? 1;
    const value: Record<string, unknown>[] = [];
    let next: PagingCookie | undefined;
    const base: PagingCookie = {
      page: page + 1,
      after: 0,
      offset: 0,
      snapshot: 0,
      since: -1,
      phase: 'u',
      issuedAt: 0,
      tracking: false,
    };
    if (query.orderby !== undefined) {
      const rows = [...this.store.changedRows(data, 0)]
        .filter(predicate)
        .sort(this.comparator(data, query.orderby));
      const offset = cookie?.offset ?? 0;
      for (const row of rows.slice(offset, offset + pageSize)) value.push(projection.project(row));
      if (top === undefined && offset + pageSize < rows.length) next = { ...base, offset: offset + pageSize };
    } else {
      let after = cookie?.after ?? 0;
      const byId = rowsNamedByFilter(data, query.filter);
      const candidates = byId
        ? byId.filter((row) => (row.versionnumber as number) > after)
        : this.store.changedRows(data, after);
      for (const row of candidates) {
        if (!predicate(row)) continue;
        if (value.length >= pageSize) {
          if (top === undefined) next = { ...base, after };
          break;
        }
        value.push(projection.project(row));
        after = row.versionnumber as number;
      }
    }
    const body: Record<string, unknown> = { '@odata.context': this.context(data, query) };
    if (query.count) {
      let total = 0;
      for (const row of this.store.changedRows(data, 0)) if (predicate(row)) total++;
      body['@odata.count'] = Math.min(total, this.settings().countLimit);
    }
    body.value = value;
    if (next) body['@odata.nextLink'] = this.link(data, query, { $skiptoken: formatSkipToken(next) });
    return jsonResponse(200, body, this.preferenceApplied(prefer, false));
  }

  /** `GET <entityset>/$count` (optionally `?$deltatoken=`): a plain-text number. */
  count(data: TableData, query: QueryOptions): WebApiResponse {
    let total = 0;
    if (query.deltatoken !== undefined) {
      const token = parseDeltaToken(query.deltatoken);
      this.checkNotExpired(token.version, token.issuedAt);
      for (const _row of this.store.changedRows(data, token.version)) total++;
      for (const _tomb of this.store.deletedIds(data, token.version)) total++;
    } else {
      total = Math.min(data.rows.size, this.settings().countLimit);
    }
    return {
      status: 200,
      headers: { 'content-type': 'text/plain', 'odata-version': '4.0' },
      body: String(total),
    };
  }

  /** Column names of a table as `$select` accepts them (for the service document and tests). */
  static selectableNames(data: TableData): string[] {
    return data.schema.columns.map(readNameOf);
  }
}

const guid = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';

/**
 * The rows a filter of the form `<primary id> eq <guid> or …` names, in version order (the order of
 * a scan), or null for any other filter. Dataverse answers such queries from its primary-key index;
 * scanning every row per request made large tables look slow where the real service is not.
 */
function rowsNamedByFilter(data: TableData, filter: string | undefined): Row[] | null {
  if (filter === undefined) return null;
  const key = data.schema.primaryIdAttribute;
  const term = `\\s*${key}\\s+eq\\s+(${guid})\\s*`;
  if (!new RegExp(`^${term}(?:or${term})*$`).test(filter)) return null;
  const rows = new Set<Row>();
  for (const match of filter.matchAll(new RegExp(guid, 'g'))) {
    const row = data.rows.get(match[0].toLowerCase());
    if (row) rows.add(row);
  }
  return [...rows].sort((a, b) => (a.versionnumber as number) - (b.versionnumber as number));
}

import { ConnectorError } from '../../core/errors.js';
import type { JsonValue } from '../../core/json.js';
import { asDeltaReadError } from './dynamics-errors.js';
import type { DynamicsResponse, DynamicsWebApiClient } from './dynamics-web-api-client.js';

/** One row as the sync sees it: id, concurrency stamp, change time and the selected columns. */
export interface DynamicsRow {
  /** Primary key (lower-case GUID). */
  id: string;
  /** `@odata.etag`, e.g. `W/"915244"` (opaque). */
  etag: string | undefined;
  /** `versionnumber`, when selected (the reader always selects it). */
  versionNumber: number | undefined;
  /** `modifiedon` (UTC ISO-8601), when selected (the reader always selects it). */
  modifiedOn: string | undefined;
  /** Selected columns by OData name; lookups appear as `_<name>_value`. */
  columns: Record<string, JsonValue>;
}

/** One page of changes; the caller checkpoints `resumeLink` after handling it. */
export interface DynamicsChangePage {
  /** New and updated rows (latest state, de-duplicated by id). */
  upserts: DynamicsRow[];
  /** Ids reported as deleted. */
  deletes: string[];
  /**
   * Where to continue: the next link while an initial sync or a long delta is being paged, the new
   * delta link on the final page. Persist it; pass it back as `resumeLink` to continue.
   */
  resumeLink: string;
  /** True on the page that carried the delta link (the table is caught up). */
  isFinal: boolean;
  /**
   * True while the pages come from an initial (full) read rather than a delta. Decided from the
   * link followed (a delta link, or the caller's word that a next link continues a delta read),
   * never from the page alone, so a delta page is never taken for a full read.
   */
  isInitialSync: boolean;
}

/** What to read. */
export interface ChangeReadRequest {
  /** Entity set name, e.g. `contacts` (from metadata). */
  entitySetName: string;
  /** Primary id attribute, e.g. `contactid` (from metadata). */
  primaryIdAttribute: string;
  /** Columns to read (OData names; lookups as `_x_value`); `versionnumber` and `modifiedon` are added. */
  select: readonly string[];
  /** A link saved from an earlier page (next link or delta link); absent = start an initial sync. */
  resumeLink?: string | undefined;
  /**
   * The caller's cursor says `resumeLink` continues a delta read (a delta link, or a next link of
   * one), or — false — a next link of a full read. A link carrying `$deltatoken` is a delta link
   * anyway; for a saved next link without this word the first page's `@odata.context` decides (a
   * `/$delta` suffix), as a last resort.
   */
  resumeIsDelta?: boolean | undefined;
  /** `odata.maxpagesize`. @default 5000 */
  pageSize?: number | undefined;
}

interface ODataPage {
  value?: unknown;
  '@odata.nextLink'?: unknown;
  '@odata.deltaLink'?: unknown;
  '@odata.context'?: unknown;
}

const systemColumns = ['versionnumber', 'modifiedon'] as const;

/** A delta link carries `$deltatoken` in its query (next links carry `$skiptoken`). */
function isDeltaLink(link: string): boolean {
  const query = link.indexOf('?');
  if (query < 0) return false;
  return new URLSearchParams(link.slice(query + 1)).has('$deltatoken');
}

/**
 * Change tracking as an async iterable of pages: the initial sync (`Prefer: odata.track-changes`)
 * page by page, then the delta link, or — given a saved link — the continuation of either. Links
 * are checked to stay on the environment's origin before they are followed. An expired delta link
 * surfaces as {@link DeltaTokenExpiredError} (code `DYNAMICS_DELTA_EXPIRED`, recognised by its
 * platform code whatever the status); another 4xx refusing a delta read as
 * {@link DeltaLinkRefusedError} (code `DYNAMICS_DELTA_LINK_REFUSED`).
 */
export class DynamicsChangeReader {
  constructor(private readonly client: DynamicsWebApiClient) {}

  async *readChanges(request: ChangeReadRequest): AsyncGenerator<DynamicsChangePage, void, undefined> {
    const pageSize = Math.min(request.pageSize ?? 5000, 5000);
    const prefer = `odata.track-changes,odata.maxpagesize=${pageSize}`;
    let link = request.resumeLink;
    // A delta read is known by the link that started it; every page that follows belongs to it.
    let deltaRead: boolean | undefined =
      link === undefined ? false : isDeltaLink(link) ? true : request.resumeIsDelta;
    if (link === undefined) {
      const select = [...new Set([...request.select, ...systemColumns])];
      link = this.client.resolveUrl(request.entitySetName, { $select: select.join(',') }).toString();
    }
    for (;;) {
      let response: DynamicsResponse<ODataPage>;
      try {
        response = await this.client.request<ODataPage>({
          method: 'GET',
          path: link,
          headers: { prefer },
          table: request.entitySetName,
        });
      } catch (error) {
        throw deltaRead === true ? asDeltaReadError(error, request.entitySetName) : error;
      }
      const body: ODataPage | undefined = response.body;
      if (typeof body !== 'object' || body === null || !Array.isArray(body.value)) {
        throw new ConnectorError(
          'dynamics',
          'DYNAMICS_BAD_RESPONSE',
          `Change tracking read of ${request.entitySetName} answered without a value array`,
        );
      }
      if (deltaRead === undefined) {
        // A saved next link nobody vouched for: its first page's context (`…/$delta`) is all we have.
        const context = body['@odata.context'];
        deltaRead = typeof context === 'string' && context.endsWith('/$delta');
      }
      const initial = !deltaRead;
      const page = this.toPage(request, body.value as unknown[], initial);
      const next: unknown = body['@odata.nextLink'];
      const delta: unknown = body['@odata.deltaLink'];
      if (typeof next === 'string') {
        this.client.resolveUrl(next);
        yield { ...page, resumeLink: next, isFinal: false };
        link = next;
        continue;
      }
      if (typeof delta !== 'string') {
        throw new ConnectorError(
          'dynamics',
          'DYNAMICS_DELTA_LINK_MISSING',
          `The last change-tracking page of ${request.entitySetName} carried neither @odata.nextLink nor @odata.deltaLink; the sync cannot continue safely (check Prefer: odata.include-annotations and proxies).`,
        );
      }
      this.client.resolveUrl(delta);
      yield { ...page, resumeLink: delta, isFinal: true };
      return;
    }
  }

  private toPage(
    request: ChangeReadRequest,
    values: unknown[],
    initial: boolean,
  ): Omit<DynamicsChangePage, 'resumeLink' | 'isFinal'> {
    // Last occurrence wins: a page may mention one id twice (updated, then deleted).
    const latest = new Map<string, DynamicsRow | null>();
    for (const item of values) {
      if (typeof item !== 'object' || item === null) continue;
      const entry = item as Record<string, JsonValue>;
      const context = entry['@odata.context'];
      if (typeof context === 'string' && context.endsWith('/$deletedEntity')) {
        const id = entry.id;
        if (typeof id === 'string') {
          latest.delete(id.toLowerCase());
          latest.set(id.toLowerCase(), null);
        }
        continue;
      }
      const rawId = entry[request.primaryIdAttribute];
      if (typeof rawId !== 'string') continue;
      const id = rawId.toLowerCase();
      const columns: Record<string, JsonValue> = {};
      for (const [name, value] of Object.entries(entry)) {
        if (!name.includes('@')) columns[name] = value;
      }
      const etag = entry['@odata.etag'];
      const version = entry.versionnumber;
      const modified = entry.modifiedon;
      latest.delete(id);
      latest.set(id, {
        id,
        etag: typeof etag === 'string' ? etag : undefined,
        versionNumber:
          typeof version === 'number' ? version : typeof version === 'string' ? Number(version) : undefined,
        modifiedOn: typeof modified === 'string' ? modified : undefined,
        columns,
      });
    }
    const upserts: DynamicsRow[] = [];
    const deletes: string[] = [];
    for (const [id, row] of latest) {
      if (row) upserts.push(row);
      else deletes.push(id);
    }
    return { upserts, deletes, isInitialSync: initial };
  }
}

import { exposedFieldsOf, serializeRecord, type ResourceEndpoint } from './campaign-endpoints.js';
import { filtersOf } from './campaign-metadata.js';
import type { CampaignPKeyCodec } from './campaign-pkey-codec.js';
import type { CampaignRecordStore, StoredRecord } from './campaign-record-store.js';
import { campaignErrors } from './campaign-wire-format.js';

/** A GET on a collection: `…/<resource>[/by<Filter>…][/<attribute>|/_count]?…`. */
export interface CollectionRequest {
  store: CampaignRecordStore;
  codec: CampaignPKeyCodec;
  endpoint: ResourceEndpoint;
  resource: string;
  filterNames: readonly string[];
  params: URLSearchParams;
  /** `https://host/<org>/campaign`. */
  base: string;
  now: number;
  /** Above this many rows, `next` needs `_forcePagination=true` (XtkBigTableThreshold). */
  bigTableThreshold: number;
  /** Single-attribute listing (`/profile/email`): content holds plain values. */
  attribute?: string;
}

/** Default page size (pagination.md). */
export const defaultLineCount = 25;

function matchingRecords(request: CollectionRequest): StoredRecord[] {
  const definition = request.store.definition(request.resource);
  if (!definition) throw campaignErrors.unsupportedEndpoint(request.resource);
  const available = new Map(filtersOf(definition, request.endpoint).map((f) => [f.name, f]));
  const predicates: Array<(record: StoredRecord) => boolean> = [];
  for (const name of request.filterNames) {
    const filter = available.get(name);
    if (!filter) throw campaignErrors.unsupportedEndpoint(`${request.endpoint}/${request.resource}/${name}`);
    const value = request.params.get(filter.parameter);
    // A filter condition applies only when its parameter is given (filter metadata "enabledIf").
    if (value === null || value === '') continue;
    if (name === 'byEmail' && request.resource === 'profile') {
      const wanted = value.toLowerCase();
      predicates.push((r) => String(r.values.email).toLowerCase() === wanted);
    } else if (name === 'byText' && request.resource === 'profile') {
      const filterType = request.params.get('filterType');
      const fields = filterType ? [filterType] : ['email', 'lastName'];
      predicates.push((r) => fields.some((f) => String(r.values[f] ?? '').startsWith(value)));
    } else {
      predicates.push((r) => String(r.values[filter.field] ?? '') === value);
    }
  }
  const out: StoredRecord[] = [];
  for (const record of request.store.visible(request.resource))
    if (predicates.every((p) => p(record))) out.push(record);
  const order = decodeOnceMore(request.params.get('_order'));
  if (order) sortRecords(out, order, request);
  return out;
}

function sortRecords(records: StoredRecord[], order: string, request: CollectionRequest): void {
  const fields = new Set(
    exposedFieldsOf(request.store, request.endpoint, request.resource).map((f) => f.name),
  );
  const keys = order.split(',').map((part) => {
    const [field = '', direction = 'asc'] = part.trim().split(/\s+/);
    if (!fields.has(field)) throw campaignErrors.unknownProperty(field, request.resource);
    return { field, sign: direction.toLowerCase() === 'desc' ? -1 : 1 };
  });
  records.sort((a, b) => {
    for (const { field, sign } of keys) {
      const x = a.values[field] ?? '';
      const y = b.values[field] ?? '';
      if (x < y) return -sign;
      if (x > y) return sign;
    }
    return a.id - b.id;
  });
}

function collectionPath(request: CollectionRequest, withAttribute = true): string {
  const segments = [request.resource, ...request.filterNames];
  if (request.attribute && withAttribute) segments.push(request.attribute);
  return `${request.base}/${request.endpoint}/${segments.join('/')}`;
}

function withParams(path: string, params: URLSearchParams): string {
  const query = params.toString();
  return query ? `${path}?${query}` : path;
}

/** `GET` a collection: `{content, count:{href}, next?:{href}, serverSidePagination:true}`. */
export function listCollection(request: CollectionRequest): Record<string, unknown> {
  const records = matchingRecords(request);
  const lineCountParam = request.params.get('_lineCount');
  const lineCount = lineCountParam === null ? defaultLineCount : Number(lineCountParam);
  if (!Number.isInteger(lineCount) || lineCount < 1)
    throw campaignErrors.badRequest(`_lineCount must be a positive integer`);
  const lineStartParam = decodeOnceMore(request.params.get('_lineStart'));
  let offset = 0;
  if (lineStartParam !== null) {
    const decoded = request.codec.decodeCursor(lineStartParam);
    if (decoded === null)
      throw campaignErrors.badRequest('_lineStart is not a cursor issued by this service');
    offset = decoded;
  }
  const page = records.slice(offset, offset + lineCount);
  const content = request.attribute
    ? page.map((r) => r.values[request.attribute!])
    : page.map((r) => serializeRecord(request.store, r, request.endpoint, request.base, request.now, true));
  const countParams = new URLSearchParams(request.params);
  countParams.delete('_lineStart');
  countParams.delete('_lineCount');
  countParams.delete('_forcePagination');
  const body: Record<string, unknown> = {
    content,
    count: { href: withParams(`${collectionPath(request, false)}/_count`, countParams) },
    serverSidePagination: true,
  };
  const bigTable = request.store.size(request.resource) > request.bigTableThreshold;
  const forced = request.params.get('_forcePagination') === 'true';
  if (offset + lineCount < records.length && (!bigTable || forced)) {
    const nextParams = new URLSearchParams(request.params);
    nextParams.set('_lineCount', String(lineCount));
    nextParams.set('_lineStart', request.codec.encodeCursor(offset + lineCount));
    body.next = { href: withParams(collectionPath(request), nextParams) };
  }
  return body;
}

/** `GET …/_count` → `{"count": N}` over the same filters. */
export function countCollection(request: CollectionRequest): { count: number } {
  return { count: matchingRecords(request).length };
}

/**
 * A query value that arrived encoded twice, as Adobe's SDK sends `_order=field%20desc` (it appends
 * `%20desc` itself, then its HTTP layer encodes the `%`): decoded once more when it still holds an
 * escape. Field names and `@…` cursors never contain `%`, so nothing valid is changed.
 */
function decodeOnceMore(value: string | null): string | null {
  if (value === null || !/%[0-9a-f]{2}/i.test(value)) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

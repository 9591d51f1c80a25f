import { DataverseError, badRequest, dataverseErrorCodes } from '../dataverse-error.js';

/** The Prefer header, as Dataverse interprets it. */
export interface ParsedPrefer {
  trackChanges: boolean;
  maxPageSize: number | undefined;
  returnRepresentation: boolean;
  includeAnnotations: string | undefined;
  continueOnError: boolean;
}

/** Parse one or more `Prefer` headers (comma-separated preferences). */
export function parsePrefer(header: string | undefined): ParsedPrefer {
  const prefer: ParsedPrefer = {
    trackChanges: false,
    maxPageSize: undefined,
    returnRepresentation: false,
    includeAnnotations: undefined,
    continueOnError: false,
  };
  if (!header) return prefer;
  // Commas inside a quoted value (`odata.include-annotations="a,b"`) do not separate preferences.
  for (const part of header.match(/(?:[^,"]|"[^"]*")+/g) ?? []) {
    const [rawName, ...rest] = part.split('=');
    const name = (rawName ?? '').trim().toLowerCase();
    const value = rest.join('=').trim().replace(/^"|"$/g, '');
    if (name === 'odata.track-changes') prefer.trackChanges = true;
    else if (name === 'odata.maxpagesize') {
      const n = Number(value);
      if (!Number.isInteger(n) || n <= 0)
        throw badRequest(`The value '${value}' of odata.maxpagesize is not valid.`);
      prefer.maxPageSize = n;
    } else if (name === 'return' && value.toLowerCase() === 'representation')
      prefer.returnRepresentation = true;
    else if (name === 'odata.include-annotations') prefer.includeAnnotations = value;
    else if (name === 'odata.continue-on-error') prefer.continueOnError = true;
  }
  return prefer;
}

/** System query options the emulator reads. */
export interface QueryOptions {
  select: string[] | undefined;
  /** `$select` as written (for `@odata.context` and next/delta links). */
  selectText: string | undefined;
  filter: string | undefined;
  orderby: string | undefined;
  top: number | undefined;
  expand: string | undefined;
  count: boolean;
  skiptoken: string | undefined;
  deltatoken: string | undefined;
  tag: string | undefined;
}

const knownOptions = new Set([
  '$select',
  '$filter',
  '$orderby',
  '$top',
  '$expand',
  '$count',
  '$skiptoken',
  '$deltatoken',
  '$apply',
  '$format',
]);

export function parseQueryOptions(search: URLSearchParams): QueryOptions {
  for (const key of search.keys()) {
    if (key.startsWith('$') && !knownOptions.has(key)) {
      throw new DataverseError(
        400,
        dataverseErrorCodes.propertyNotFound,
        `The query parameter '${key}' is not supported.`,
      );
    }
  }
  const selectText = search.get('$select') ?? undefined;
  const select = selectText
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const topText = search.get('$top');
  let top: number | undefined;
  if (topText !== null) {
    top = Number(topText);
    if (!Number.isInteger(top) || top < 0)
      throw badRequest(`Invalid value '${topText}' for $top query option.`);
  }
  return {
    select,
    selectText: select?.join(','),
    filter: search.get('$filter') ?? undefined,
    orderby: search.get('$orderby') ?? undefined,
    top,
    expand: search.get('$expand') ?? undefined,
    count: search.get('$count') === 'true',
    skiptoken: search.get('$skiptoken') ?? undefined,
    deltatoken: search.get('$deltatoken') ?? undefined,
    tag: search.get('tag') ?? undefined,
  };
}

/** What a Web API path addresses, relative to `/api/data/v9.2/`. */
export type ResourcePath =
  | { kind: 'serviceDocument' }
  | { kind: 'batch' }
  | { kind: 'metadata' }
  | { kind: 'whoAmI' }
  | { kind: 'deleteRecordChangeHistory' }
  | { kind: 'organizations' }
  | {
      kind: 'entityDefinitions';
      logicalName: string | undefined;
      metadataId: string | undefined;
      navigation: string | undefined;
      /** A derived-type cast after the navigation (`Microsoft.Dynamics.CRM.PicklistAttributeMetadata`). */
      cast: string | undefined;
      /** One item of the navigation by key: `Attributes(LogicalName='firstname')` or `Attributes(<MetadataId>)`. */
      itemLogicalName?: string | undefined;
      itemMetadataId?: string | undefined;
      /** A navigation after the cast of one item (`…/PicklistAttributeMetadata/OptionSet`). */
      castNavigation?: string | undefined;
    }
  | { kind: 'collection'; entitySet: string; count: boolean }
  | {
      kind: 'entity';
      entitySet: string;
      /** The primary key; empty when the record is addressed by an alternate key. */
      id: string;
      property: string | undefined;
      /** `contacts(emailaddress1='a@b.c')`: the key properties and their values, as written. */
      keyValues?: Record<string, string | number | boolean> | undefined;
    };

const guidText = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';

export function resourceNotFound(segment: string): DataverseError {
  return new DataverseError(
    404,
    dataverseErrorCodes.propertyNotFound,
    `Resource not found for the segment '${segment}'.`,
  );
}

/** Parse the path after `/api/data/v9.2/` (already percent-decoded). */
export function parseResourcePath(path: string): ResourcePath {
  const trimmed = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return { kind: 'serviceDocument' };
  if (trimmed === '$batch') return { kind: 'batch' };
  if (trimmed === '$metadata') return { kind: 'metadata' };
  if (trimmed === 'WhoAmI' || trimmed === 'WhoAmI()') return { kind: 'whoAmI' };
  if (trimmed === 'DeleteRecordChangeHistory') return { kind: 'deleteRecordChangeHistory' };
  if (trimmed === 'organizations') return { kind: 'organizations' };
  const definitionsMatch = new RegExp(
    `^EntityDefinitions(?:\\((?:LogicalName='([^']*)'|(?:MetadataId=)?(${guidText}))\\))?(?:/(\\w+)(?:\\((?:LogicalName='([^']*)'|(?:MetadataId=)?(${guidText}))\\))?(?:/([\\w.]+)(?:/(\\w+))?)?)?$`,
  ).exec(trimmed);
  if (definitionsMatch) {
    return {
      kind: 'entityDefinitions',
      logicalName: definitionsMatch[1],
      metadataId: definitionsMatch[2]?.toLowerCase(),
      navigation: definitionsMatch[3],
      itemLogicalName: definitionsMatch[4],
      itemMetadataId: definitionsMatch[5]?.toLowerCase(),
      cast: definitionsMatch[6],
      castNavigation: definitionsMatch[7],
    };
  }
  const entity = new RegExp(`^(\\w+)\\((?:\\w+=)?(${guidText})\\)(?:/(\\w+))?$`).exec(trimmed);
  if (entity) {
    return {
      kind: 'entity',
      entitySet: entity[1] as string,
      id: (entity[2] as string).toLowerCase(),
      property: entity[3],
    };
  }
  const byKey = /^(\w+)\(((?:[^()']|'(?:[^']|'')*')+)\)(?:\/(\w+))?$/.exec(trimmed);
  if (byKey) {
    return {
      kind: 'entity',
      entitySet: byKey[1] as string,
      id: '',
      property: byKey[3],
      keyValues: parseKeyValues(byKey[2] as string, trimmed),
    };
  }
  const collection = /^(\w+)(\/\$count)?$/.exec(trimmed);
  if (collection)
    return { kind: 'collection', entitySet: collection[1] as string, count: collection[2] !== undefined };
  throw resourceNotFound(trimmed.split('/')[0] ?? trimmed);
}

/**
 * `emailaddress1='a@b.c',firstname='Joe'` (alternate-key segment, use-alternate-key-reference-record):
 * strings in single quotes (`''` escapes a quote), numbers, `true`/`false`, GUIDs for lookup keys.
 */
function parseKeyValues(text: string, path: string): Record<string, string | number | boolean> {
  const values: Record<string, string | number | boolean> = {};
  const part = /\s*(\w+)\s*=\s*('(?:[^']|'')*'|[^,]+?)\s*(?:,|$)/y;
  let offset = 0;
  while (offset < text.length) {
    part.lastIndex = offset;
    const match = part.exec(text);
    if (!match) throw badRequest(`Bad Request - Error in query syntax: '${path}'.`, '0x8006088a');
    const [, name, raw] = match as unknown as [string, string, string];
    if (raw.startsWith("'")) values[name] = raw.slice(1, -1).replace(/''/g, "'");
    else if (raw === 'true' || raw === 'false') values[name] = raw === 'true';
    else if (new RegExp(`^${guidText}$`).test(raw)) values[name] = raw.toLowerCase();
    else if (!Number.isNaN(Number(raw))) values[name] = Number(raw);
    else throw badRequest(`Bad Request - Error in query syntax: '${path}'.`, '0x8006088a');
    offset = part.lastIndex;
  }
  return values;
}

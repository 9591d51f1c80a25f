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
  for (const part of header.split(',')) {
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
    }
  | { kind: 'collection'; entitySet: string; count: boolean }
  | { kind: 'entity'; entitySet: string; id: string; property: string | undefined };

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
    `^EntityDefinitions(?:\\((?:LogicalName='([^']*)'|(?:MetadataId=)?(${guidText}))\\))?(?:/(\\w+)(?:/([\\w.]+))?)?$`,
  ).exec(trimmed);
  if (definitionsMatch) {
    return {
      kind: 'entityDefinitions',
      logicalName: definitionsMatch[1],
      metadataId: definitionsMatch[2]?.toLowerCase(),
      navigation: definitionsMatch[3],
      cast: definitionsMatch[4],
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
  const collection = /^(\w+)(\/\$count)?$/.exec(trimmed);
  if (collection)
    return { kind: 'collection', entitySet: collection[1] as string, count: collection[2] !== undefined };
  throw resourceNotFound(trimmed.split('/')[0] ?? trimmed);
}

import { randomUUID } from 'node:crypto';
import type { EmulatorClock } from '../../shared/emulator-clock.js';
import { DataverseError, alternateKeyNotFound, badRequest, dataverseErrorCodes } from '../dataverse-error.js';
import {
  parsePrefer,
  parseQueryOptions,
  parseResourcePath,
  resourceNotFound,
  type ResourcePath,
} from '../odata/odata-request.js';
import type { DataverseDataStore, TableData, WriteContext } from '../store/dataverse-data-store.js';
import { isGuid } from '../store/dataverse-data-store.js';
import { CollectionReader, type CollectionReaderSettings } from './collection-reader.js';
import { EntityHandler, parseJsonObject } from './entity-handler.js';
import { MetadataHandler } from './metadata-handler.js';
import { ServiceEndpointReader, type ServiceEndpointSeed } from './service-endpoints.js';
import {
  apiPathPrefix,
  jsonResponse,
  toErrorResponse,
  type WebApiRequest,
  type WebApiResponse,
} from './web-api-types.js';

export interface WebApiHandlerOptions {
  store: DataverseDataStore;
  origin: string;
  clock: EmulatorClock;
  organization: { id: string; name: string; businessUnitId: string };
  settings: () => CollectionReaderSettings;
  /** The registered service endpoints `GET serviceendpoints` lists. @default none */
  serviceEndpoints?: readonly ServiceEndpointSeed[];
  /** Tables (logical names) the caller's security role cannot read: reads answer 403. @default none */
  unreadableTables?: readonly string[];
}

const methodNotAllowed = (): DataverseError =>
  new DataverseError(
    405,
    dataverseErrorCodes.invalidArgument,
    'The HTTP method is not allowed for this resource.',
  );

/**
 * The Web API below `/api/data/v9.2/`, for one request at a time. Synchronous on purpose: a
 * `$batch` change set runs its parts without interleaving, so rolling it back is exact.
 */
export class WebApiHandler {
  readonly entities: EntityHandler;
  readonly collections: CollectionReader;
  readonly metadata: MetadataHandler;
  private readonly serviceEndpoints: ServiceEndpointReader;

  constructor(private readonly options: WebApiHandlerOptions) {
    this.entities = new EntityHandler(options.store, options.origin);
    this.collections = new CollectionReader(options.store, options.origin, options.clock, options.settings);
    this.metadata = new MetadataHandler(options.store, options.origin, {
      ...options.organization,
      retentionDays: () => options.settings().retentionDays,
    });
    this.serviceEndpoints = new ServiceEndpointReader(options.serviceEndpoints ?? [], options.origin);
  }

  /** Route a request to its resource; never throws (errors become Web API error responses). */
  handle(request: WebApiRequest): WebApiResponse {
    try {
      if (request.method.toUpperCase() === 'GET') return this.route(request);
      // A write may touch several rows (delete cascades): all or nothing.
      return this.options.store.transaction(() => this.route(request));
    } catch (error) {
      return toErrorResponse(error);
    }
  }

  /** Parse the resource path of a request URL (for statistics and for `$batch`). */
  resourceOf(url: string): ResourcePath {
    const path = url.split('?')[0] ?? '';
    if (!path.startsWith(apiPathPrefix) && path !== apiPathPrefix.slice(0, -1)) throw resourceNotFound(path);
    return parseResourcePath(decodeURIComponent(path.slice(apiPathPrefix.length)));
  }

  private table(entitySet: string): TableData {
    const data = this.options.store.tableByEntitySet(entitySet);
    if (!data) throw resourceNotFound(entitySet);
    return data;
  }

  /** A table the caller may read (see `unreadableTables`). */
  private readable(entitySet: string): TableData {
    const data = this.table(entitySet);
    const name = data.schema.logicalName;
    if (this.options.unreadableTables?.includes(name))
      throw new DataverseError(
        403,
        dataverseErrorCodes.privilegeMissing,
        `Principal user (Id=${this.options.organization.id}, type=8, roleCount=1, privilegeCount=0), is missing prvRead${name} privilege on entity '${name}'.`,
      );
    return data;
  }

  private route(request: WebApiRequest): WebApiResponse {
    const [, search = ''] = request.url.split(/\?(.*)/s);
    const query = parseQueryOptions(new URLSearchParams(search));
    const resource = this.resourceOf(request.url);
    const method = request.method.toUpperCase();
    const context: WriteContext = {
      userId: request.user.userId,
      correlationId: request.correlationId,
      tag: query.tag,
    };
    switch (resource.kind) {
      case 'serviceDocument':
        return this.metadata.serviceDocument();
      case 'metadata':
        return this.metadata.csdl(new URLSearchParams(search).get('annotations') === 'true');
      case 'whoAmI':
        return this.metadata.whoAmI(request.user.userId);
      case 'organizations':
        return this.metadata.organizations(query);
      case 'entityDefinitions':
        if (method === 'GET') return this.metadata.get(resource, query);
        if (method === 'PUT' && resource.navigation === undefined) {
          const body = JSON.parse(request.body ?? '{}') as Record<string, unknown>;
          return this.metadata.put(resource.logicalName, resource.metadataId, body);
        }
        throw methodNotAllowed();
      case 'deleteRecordChangeHistory':
        if (method !== 'POST') throw methodNotAllowed();
        return this.deleteRecordChangeHistory(request);
      case 'batch':
        throw badRequest('Batch requests cannot be nested.');
      case 'collection': {
        if (
          resource.entitySet === 'serviceendpoints' &&
          !this.options.store.tableByEntitySet('serviceendpoints')
        ) {
          if (method !== 'GET' || resource.count) throw methodNotAllowed();
          return this.serviceEndpoints.read(query);
        }
        const data = this.table(resource.entitySet);
        if (resource.count) {
          if (method !== 'GET') throw methodNotAllowed();
          return this.collections.count(data, query);
        }
        if (method === 'GET')
          return this.collections.read(
            this.readable(resource.entitySet),
            query,
            parsePrefer(request.headers.prefer),
          );
        if (method === 'POST') return this.entities.create(data, query, request, context);
        throw methodNotAllowed();
      }
      case 'entity': {
        const data = this.table(resource.entitySet);
        if (resource.keyValues !== undefined) {
          const { id, keyValues } = this.entities.resolveAlternateKey(data, resource.keyValues);
          if (id === undefined) {
            // Only an upsert (PATCH without If-Match) may address a record that does not exist yet.
            if (
              method === 'PATCH' &&
              resource.property === undefined &&
              request.headers['if-match'] === undefined
            )
              return this.entities.patch(data, randomUUID(), query, request, context, keyValues);
            throw alternateKeyNotFound(data);
          }
          if (method === 'PATCH' && resource.property === undefined)
            return this.entities.patch(data, id, query, request, context, keyValues);
          return this.route({ ...request, url: this.byPrimaryKey(request.url, data, id) });
        }
        if (resource.property !== undefined) {
          if (method === 'GET')
            return this.entities.get(data, resource.id, resource.property, query, request);
          if (method === 'PUT')
            return this.entities.putProperty(data, resource.id, resource.property, request, context);
          if (method === 'DELETE')
            return this.entities.setProperty(data, resource.id, resource.property, null, context);
          throw methodNotAllowed();
        }
        if (method === 'GET') return this.entities.get(data, resource.id, undefined, query, request);
        if (method === 'PATCH') return this.entities.patch(data, resource.id, query, request, context);
        if (method === 'DELETE') return this.entities.delete(data, resource.id, request, context);
        throw methodNotAllowed();
      }
    }
  }

  /** The same request URL with the alternate-key segment replaced by the primary key. */
  private byPrimaryKey(url: string, data: TableData, id: string): string {
    const [path = '', search] = url.split(/\?(.*)/s);
    const decoded = decodeURIComponent(path.slice(apiPathPrefix.length));
    const rest = /^\w+\((?:[^()']|'(?:[^']|'')*')+\)(.*)$/s.exec(decoded)?.[1] ?? '';
    const rewritten = `${apiPathPrefix}${data.schema.entitySetName}(${id})${rest}`;
    return search !== undefined ? `${rewritten}?${search}` : rewritten;
  }

  private deleteRecordChangeHistory(request: WebApiRequest): WebApiResponse {
    const contact = this.options.store.requireTable('contact');
    const payload = parseJsonObject(contact, request.body);
    const target = payload.Target as Record<string, unknown> | undefined;
    const rawType = target?.['@odata.type'];
    const type = typeof rawType === 'string' ? rawType : '';
    const logicalName = type.replace(/^#?Microsoft\.Dynamics\.CRM\./, '');
    const data = this.options.store.table(logicalName);
    if (!target || !data) {
      throw badRequest(
        "DeleteRecordChangeHistory needs a Target with '@odata.type' naming a table and its primary key.",
      );
    }
    const id = target[data.schema.primaryIdAttribute];
    if (typeof id !== 'string' || !isGuid(id)) {
      throw badRequest(`The Target must carry '${data.schema.primaryIdAttribute}'.`);
    }
    const deleted = this.options.store.deleteChangeHistory(logicalName, id);
    return jsonResponse(200, {
      '@odata.context': `${this.options.origin}${apiPathPrefix}$metadata#Microsoft.Dynamics.CRM.DeleteRecordChangeHistoryResponse`,
      DeletedEntriesCount: deleted,
    });
  }
}

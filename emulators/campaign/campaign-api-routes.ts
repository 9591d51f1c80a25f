import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { countCollection, listCollection, type CollectionRequest } from './campaign-collection-query.js';
import type { CampaignEmulatorContext } from './campaign-emulator-context.js';
import {
  acceptsCustomKey,
  exposedFieldsOf,
  isResourceEndpoint,
  isServedBy,
  serializeRecord,
  type ResourceEndpoint,
} from './campaign-endpoints.js';
import { describeFilters, describeResource, describeRoot, filtersOf } from './campaign-metadata.js';
import type { StoredRecord } from './campaign-record-store.js';
import {
  campaignErrors,
  CampaignApiError,
  errorBody,
  invalidTokenBody,
  oopsBody,
} from './campaign-wire-format.js';
import type { CampaignSftpControls } from './campaign-sftp-adapter.js';
import { handleWorkflowExecution } from './campaign-workflow-execution.js';
import { isRecord } from '../shared/is-record.js';

/** An answer before it is written: JSON body (or none) and extra headers. */
interface ApiAnswer {
  status: number;
  body?: unknown;
}

const json = 'application/json;charset=utf-8';

/**
 * The JSON object a write carries. Adobe's SDK sends JSON under `text/plain;charset=UTF-8` (its
 * HTTP client's default for a string body), so the body is read as JSON whatever its content type
 * says (see the emulator's content-type parsers); anything that is not a JSON object is a 400.
 */
function payloadOf(request: FastifyRequest): Record<string, unknown> {
  let body: unknown = request.body;
  if (typeof body === 'string') {
    if (body.trim() === '') return {};
    try {
      body = JSON.parse(body);
    } catch {
      throw campaignErrors.badRequest(
        `the request body must be a JSON object; the body sent as '${contentTypeOf(request)}' is not JSON`,
      );
    }
  }
  if (body === undefined || body === null) return {};
  if (!isRecord(body))
    throw campaignErrors.badRequest(
      `the request body must be a JSON object, not ${Array.isArray(body) ? 'an array' : typeof body}`,
    );
  return body;
}

function contentTypeOf(request: FastifyRequest): string {
  return headerOf(request, 'content-type') ?? 'no content type';
}

/**
 * The path segments under `/{org}/campaign/` and the query. Adobe's SDK sends a relative URL
 * (`getDataFromRelativeUrl`: a `data` path, or a `next.href`) as one encoded path parameter, so
 * `%2F` and `%3F` inside it are read as the path and query they encode; a whole href is cut to the
 * part after `/campaign/`. (Real servers may refuse an encoded slash; what they answer is not
 * documented — the emulator follows the SDK so that its helper works.)
 */
export function campaignPathOf(rawUrl: string): { org: string; segments: string[]; params: URLSearchParams } {
  const url = new URL(rawUrl, 'http://emulator.invalid');
  const rawSegments = url.pathname.split('/').filter((s) => s !== '');
  const org = decodeURIComponent(rawSegments[0] ?? '');
  let rest = rawSegments.slice(2).join('/');
  const params = url.searchParams;
  // One segment holding an encoded path or query (never a root name, never a key: those come second).
  if (rawSegments.length === 3 && /%2f|%3f/i.test(rest)) {
    let relative = decodeURIComponent(rest);
    const marker = relative.indexOf('/campaign/');
    if (/^https?:\/\//.test(relative) && marker >= 0) relative = relative.slice(marker + '/campaign/'.length);
    const inner = new URL(relative.replace(/^\/+/, ''), 'http://emulator.invalid/');
    rest = inner.pathname;
    for (const [name, value] of inner.searchParams) params.append(name, value);
  }
  const segments = rest
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeURIComponent(s));
  if (segments.length > 0) segments[segments.length - 1] = segments.at(-1)!.replace(/\.json$/, '');
  return { org, segments, params };
}

/**
 * The Campaign Standard REST API under `/{org}/campaign/…`: profiles, custom resources, metadata,
 * filters, paging, counting and the privacy tool, behind the gateway's token check.
 */
export function registerCampaignApiRoutes(
  app: FastifyInstance,
  context: CampaignEmulatorContext,
  workflow: () => CampaignSftpControls | null = () => null,
): void {
  app.route({
    method: ['GET', 'POST', 'PATCH', 'DELETE', 'PUT'],
    url: '/:org/campaign/*',
    handler: async (request, reply) => {
      const { org, segments, params } = campaignPathOf(request.url);
      const operation = `${request.method} ${segments[0] === 'privacy' ? 'privacyTool' : segments[0] === 'workflow' ? 'workflow' : (segments[1] ?? segments[0] ?? '')}`;
      const answer = (status: number, body?: unknown): FastifyReply => {
        context.load.recordResponse(operation, status);
        const r = reply.status(status).header('content-type', json);
        return body === undefined ? r.send() : r.send(typeof body === 'string' ? body : JSON.stringify(body));
      };
      if (!context.tokens.isAuthorized(request.headers.authorization, headerOf(request, 'x-api-key')))
        return answer(401, invalidTokenBody);
      if (org !== context.org) return answer(500, oopsBody);
      const admitted = context.load.admit();
      if (!admitted.admitted) {
        if (admitted.retryAfterSec !== null) reply.header('retry-after', String(admitted.retryAfterSec));
        return answer(429, { code: 429, message: 'Too many requests' });
      }
      context.tick();
      const base = `${request.protocol}://${request.headers.host ?? 'localhost'}/${org}/campaign`;
      try {
        const result =
          segments[0] === 'workflow' && segments[1] === 'execution'
            ? await handleWorkflowExecution(
                workflow(),
                context.workflows,
                request.method,
                segments.slice(2),
                request.method === 'POST' ? payloadOf(request) : {},
                base,
                (id) => context.codec.encodeRecord('workflow', hashName(id)),
              )
            : handle(context, request, segments, params, base);
        return answer(result.status, result.body);
      } catch (error) {
        if (!(error instanceof CampaignApiError)) throw error;
        return answer(error.status, errorBody(error, context.behaviour.errorEnvelope));
      }
    },
  });
}

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function handle(
  context: CampaignEmulatorContext,
  request: FastifyRequest,
  segments: string[],
  params: URLSearchParams,
  base: string,
): ApiAnswer {
  const [root = '', second, ...rest] = segments;
  if (root === 'privacy' && second === 'privacyTool')
    return handlePrivacyTool(context, request, rest, params, base);
  if (!isResourceEndpoint(root)) throw campaignErrors.unsupportedEndpoint(segments.join('/'));
  const endpoint = root;
  if (second === undefined || second === '') {
    if (request.method !== 'GET') throw campaignErrors.unsupportedEndpoint(root);
    return { status: 200, body: describeRoot(context.store, endpoint, base) };
  }
  if (second === 'resourceType') {
    const [resource = '', sub] = rest;
    if (request.method !== 'GET' || !isServedBy(context.store, endpoint, resource))
      throw campaignErrors.unsupportedEndpoint(segments.join('/'));
    const definition = context.store.definition(resource)!;
    const body =
      sub === 'filters'
        ? describeFilters(definition, endpoint, (name) =>
            context.codec.encodeRecord('filter', hashName(name)),
          )
        : describeResource(context.store, definition, endpoint, base);
    return { status: 200, body };
  }
  const resource = second;
  if (!isServedBy(context.store, endpoint, resource))
    throw campaignErrors.unsupportedEndpoint(segments.join('/'));
  return handleResource(context, request, endpoint, resource, rest, params, base);
}

function hashName(name: string): number {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h;
}

function handleResource(
  context: CampaignEmulatorContext,
  request: FastifyRequest,
  endpoint: ResourceEndpoint,
  resource: string,
  rest: string[],
  params: URLSearchParams,
  base: string,
): ApiAnswer {
  const { store } = context;
  const definition = store.definition(resource)!;
  const now = context.clock.now();
  const exposed = new Set(exposedFieldsOf(store, endpoint, resource).map((f) => f.name));
  const writeContext = { exposedFields: exposed };
  switch (request.method) {
    case 'GET': {
      const filterNames = new Set(filtersOf(definition, endpoint).map((f) => f.name));
      const collection: CollectionRequest = {
        store,
        codec: context.codec,
        endpoint,
        resource,
        filterNames: [],
        params,
        base,
        now,
        bigTableThreshold: context.behaviour.bigTableThreshold,
      };
      const filters: string[] = [];
      let i = 0;
      while (
        i < rest.length &&
        rest[i]!.startsWith('by') &&
        (filterNames.has(rest[i]!) || !exposed.has(rest[i]!))
      ) {
        filters.push(rest[i]!);
        i++;
      }
      const tail = rest.slice(i);
      if (tail.length === 0)
        return { status: 200, body: listCollection({ ...collection, filterNames: filters }) };
      if (tail.length === 1 && tail[0] === '_count')
        return { status: 200, body: countCollection({ ...collection, filterNames: filters }) };
      if (tail.length === 1 && tail[0] === 'metadata' && filters.length === 0)
        return { status: 200, body: describeResource(store, definition, endpoint, base) };
      if (tail.length === 1 && exposed.has(tail[0]!) && !tail[0]!.startsWith('@'))
        return {
          status: 200,
          body: listCollection({ ...collection, filterNames: filters, attribute: tail[0]! }),
        };
      if (tail.length === 1 && filters.length === 0) {
        const record = findTarget(context, endpoint, resource, tail[0]!, 'read');
        return { status: 200, body: serializeRecord(store, record, endpoint, base, now) };
      }
      throw campaignErrors.unsupportedEndpoint(`${endpoint}/${resource}/${rest.join('/')}`);
    }
    case 'POST': {
      if (rest.length !== 0)
        throw campaignErrors.unsupportedEndpoint(`${endpoint}/${resource}/${rest.join('/')}`);
      const record = store.insert(resource, payloadOf(request), writeContext);
      context.load.recordEngineCalls('insert');
      return { status: 201, body: serializeRecord(store, record, endpoint, base, now) };
    }
    case 'PATCH': {
      const payload = payloadOf(request);
      let target: StoredRecord;
      if (rest.length === 1) {
        target = findTarget(context, endpoint, resource, rest[0]!, 'write');
      } else if (rest.length === 0 && acceptsCustomKey(endpoint) && keyFieldOnWire(context, resource)) {
        // Upsert-like PATCH on the collection with the business key in the body (KA-15086).
        const keyField = keyFieldOnWire(context, resource)!;
        const key = payload[keyField];
        if (typeof key !== 'string' || key === '')
          throw campaignErrors.badRequest(`'${keyField}' is required`);
        target = findTarget(context, endpoint, resource, key, 'write');
      } else {
        throw campaignErrors.unsupportedEndpoint(`${endpoint}/${resource}/${rest.join('/')}`);
      }
      const { changed } = store.update(target, payload, writeContext);
      context.load.recordEngineCalls(changed ? 'update' : 'unchangedUpdate');
      return {
        status: 200,
        body: { PKey: target.pkey, href: `${base}/${endpoint}/${resource}/${target.pkey}` },
      };
    }
    case 'DELETE': {
      if (rest.length !== 1)
        throw campaignErrors.unsupportedEndpoint(`${endpoint}/${resource}/${rest.join('/')}`);
      const target = findTarget(context, endpoint, resource, rest[0]!, 'write');
      store.remove(target);
      context.load.recordEngineCalls('delete');
      return { status: 200 };
    }
    default:
      throw campaignErrors.unsupportedEndpoint(`${endpoint}/${resource}`);
  }
}

/**
 * The record a URL segment names: a PKey, or (under Ext/customResources) the identification-key
 * value. Hidden records are indistinguishable from missing ones.
 */
function findTarget(
  context: CampaignEmulatorContext,
  endpoint: ResourceEndpoint,
  resource: string,
  segment: string,
  mode: 'read' | 'write',
): StoredRecord {
  const { store } = context;
  const definition = store.definition(resource)!;
  const label = resource === 'profile' ? 'Profile' : definition.label;
  let record: StoredRecord | undefined;
  let keyText = segment;
  if (segment.startsWith('@')) {
    const decoded = context.codec.decodeRecord(segment);
    if (!decoded || decoded.resource !== resource)
      throw campaignErrors.malformedPKey(segment, definition.label, definition.schema);
    record = store.getById(resource, decoded.id);
    keyText = String(decoded.id);
  } else if (acceptsCustomKey(endpoint) && keyFieldOnWire(context, resource) !== null) {
    record = store.getByKey(resource, segment);
  } else if (acceptsCustomKey(endpoint) && context.behaviour.undeclaredKeyAnswer === 'xtk-500') {
    throw campaignErrors.undeclaredKey(segment, label, definition.schema);
  }
  if (record && store.isVisible(record)) return record;
  if (record && mode === 'write' && context.behaviour.hiddenWriteStatus === 500)
    throw campaignErrors.generic();
  throw campaignErrors.notFound(label, definition.schema, keyText);
}

/** The identification key by-key URLs honour: the declared one, unless the behaviour says undeclared. */
function keyFieldOnWire(context: CampaignEmulatorContext, resource: string): string | null {
  if (context.behaviour.undeclaredKeyResources.includes(resource)) return null;
  return context.store.definition(resource)?.keyField ?? null;
}

function handlePrivacyTool(
  context: CampaignEmulatorContext,
  request: FastifyRequest,
  rest: string[],
  params: URLSearchParams,
  base: string,
): ApiAnswer {
  const tool = context.privacyTool;
  const notFound = (key: string) => campaignErrors.notFound('Privacy request', 'gdpr:privacyRequest', key);
  if (request.method === 'POST' && rest.length === 0) {
    const created = tool.create(payloadOf(request));
    return { status: 201, body: tool.serialize(created, base) };
  }
  if (request.method === 'GET' && rest.length === 0) {
    const all = tool.list().map((r) => tool.serialize(r, base));
    const lineCount = Number(params.get('_lineCount') ?? '25');
    const offset =
      params.get('_lineStart') === null ? 0 : (context.codec.decodeCursor(params.get('_lineStart')!) ?? 0);
    const body: Record<string, unknown> = {
      content: all.slice(offset, offset + lineCount),
      count: { href: `${base}/privacy/privacyTool/_count` },
      serverSidePagination: true,
    };
    if (offset + lineCount < all.length)
      body.next = {
        href: `${base}/privacy/privacyTool?_lineCount=${lineCount}&_lineStart=${context.codec.encodeCursor(offset + lineCount)}`,
      };
    return { status: 200, body };
  }
  if (request.method === 'GET' && rest.length === 1 && rest[0] === '_count')
    return { status: 200, body: { count: tool.list().length } };
  const found = rest[0] === undefined ? undefined : tool.get(rest[0]);
  if (!found) throw notFound(rest[0] ?? '');
  if (request.method === 'GET' && rest.length === 1)
    return { status: 200, body: tool.serialize(found, base) };
  if (request.method === 'POST' && rest.length === 2 && rest[1] === 'privacyRequestData') {
    if (found.type !== 'access' || found.outcome?.accessData === undefined) throw notFound(found.name);
    return { status: 200, body: JSON.stringify(found.outcome.accessData) };
  }
  throw campaignErrors.unsupportedEndpoint(`privacy/privacyTool/${rest.join('/')}`);
}

import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { EmulatorClock } from '../shared/emulator-clock.js';
import { FaultInjector } from '../shared/fault-injector.js';
import { generateTlsMaterial } from '../shared/tls-certificate.js';
import { registerAdminRoutes } from './admin/admin-routes.js';
import { DynamicsEmulatorAdmin, type EmulatorSettings } from './admin/dynamics-emulator-admin.js';
import { RequestStatistics } from './admin/request-statistics.js';
import { EntraTokenService, guidFrom, type AuthenticatedUser } from './auth/entra-token-service.js';
import { DataverseError, dataverseErrorCodes } from './dataverse-error.js';
import {
  ServiceProtectionLimiter,
  type ServiceProtectionLimits,
} from './limits/service-protection-limiter.js';
import { readSeedFile, tableSchemasOf, type SeedFile } from './schema/seed-file.js';
import { DataverseDataGenerator } from './store/dataverse-data-generator.js';
import { DataverseDataStore } from './store/dataverse-data-store.js';
import { BatchProcessor } from './web-api/batch-processor.js';
import { WebApiHandler } from './web-api/web-api-handler.js';
import type { LaterDeltaPagesContext } from './web-api/collection-reader.js';
import { apiPathPrefix, jsonContentType, type WebApiResponse } from './web-api/web-api-types.js';
import { WebhookDispatcher } from './webhooks/webhook-dispatcher.js';

/** Options of {@link startDynamicsEmulator}. */
export interface DynamicsEmulatorOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string;
  /** The one registered application. @default 'demo-client' */
  clientId?: string;
  /** Its secret. @default 'demo-secret' */
  clientSecret?: string;
  /** Tenant named in `WWW-Authenticate`; any tenant is accepted at the token endpoint. @default 'emulator-tenant' */
  tenantId?: string;
  /** Contacts generated at start. @default 0 */
  contacts?: number;
  /** Seed of the data generator and the fault injector. @default 1 */
  seed?: number;
  /** Path of a YAML/JSON seed file declaring custom tables and rows. */
  seedFile?: string;
  /** An already parsed seed file (tests). */
  seedData?: SeedFile;
  /** Serve plain HTTP (debugging only; MSAL refuses an http authority). @default false */
  insecureHttp?: boolean;
  /** Certificate and key (PEM) to serve instead of a generated pair. */
  tls?: { cert: string; key: string; caCert?: string };
  /** Service-protection limits; the real numbers by default. */
  limits?: Partial<ServiceProtectionLimits>;
  /** Access-token lifetime. @default 3599 */
  tokenLifetimeSec?: number;
  /** `expirechangetrackingindays`. @default 7 */
  changeTrackingRetentionDays?: number;
  /** The emulator clock (shared with a test for deterministic time). @default a running clock */
  clock?: EmulatorClock;
  /** Require this key (header `x-emulator-admin-key`) on `/_emulator/`; without it, loopback only. */
  adminKey?: string;
  /** Server maximum page size. @default 5000 */
  maxPageSize?: number;
  /** Status of the ExpiredVersionStamp error (undocumented for the Web API; assumed). @default 400 */
  expiredTokenStatus?: number;
  /**
   * `@odata.context` of a delta read's second and later pages (undocumented): `delta` keeps the
   * `/$delta` suffix, `plain` drops it. @default 'delta'
   */
  laterDeltaPagesContext?: LaterDeltaPagesContext;
  /** Status of a refused client credential (`invalid_client`, AADSTS7000215). @default 401 as Entra documents */
  invalidClientStatus?: number;
  /**
   * Tenants that exist (ids or domain names) besides `tenantId`; any other answers AADSTS90002 at
   * the token endpoint and the discovery document. @default every tenant exists
   */
  tenants?: readonly string[];
  /** Requests allowed in one `$batch`. @default 1000 */
  maxBatchRequests?: number;
  /** Webhook receiver timeout. @default 60000 */
  webhookTimeoutMs?: number;
  /** CA (PEM) trusted for https webhook receivers. */
  webhookCaCert?: string;
  /** Organization name in webhook headers and WhoAmI. @default 'emulator' */
  organizationName?: string;
}

/** A running emulator. */
export interface DynamicsEmulator {
  /** Org URL, e.g. `https://127.0.0.1:PORT` (the Web API is at `${url}/api/data/v9.2/`). */
  url: string;
  /** Authority host for MSAL (same server): authority = `${authorityHost}/${tenantId}`. */
  authorityHost: string;
  /** Token endpoint for the configured tenant. */
  tokenUrl: string;
  tenantId: string;
  clientId: string;
  /** CA certificate (PEM) clients must trust; undefined with `insecureHttp`. */
  caCert: string | undefined;
  admin: DynamicsEmulatorAdmin;
  close(): Promise<void>;
}

interface RequestState {
  startedAt: number;
  delayMs: number;
}

const requestState = new WeakMap<FastifyRequest, RequestState>();

function routeKey(handler: WebApiHandler, method: string, url: string): string {
  try {
    const resource = handler.resourceOf(url);
    switch (resource.kind) {
      case 'collection':
        return `${method} ${resource.entitySet}${resource.count ? '/$count' : ''}`;
      case 'entity':
        return `${method} ${resource.entitySet}(id)${resource.property ? '/property' : ''}`;
      case 'entityDefinitions':
        return `${method} EntityDefinitions${resource.navigation ? `/${resource.navigation}` : ''}${resource.cast ? `/${resource.cast}` : ''}`;
      default:
        return `${method} ${resource.kind}`;
    }
  } catch {
    return `${method} unknown`;
  }
}

interface EmulatorServices {
  origin: string;
  settings: EmulatorSettings;
  store: DataverseDataStore;
  tokens: EntraTokenService;
  limiter: ServiceProtectionLimiter;
  faultInjector: FaultInjector;
  statistics: RequestStatistics;
  webhookDispatcher: WebhookDispatcher;
  handler: WebApiHandler;
  batch: BatchProcessor;
  admin: DynamicsEmulatorAdmin;
}

async function buildServices(
  options: DynamicsEmulatorOptions,
  origin: string,
  context: { clock: EmulatorClock; clientId: string; seed: number; seedFile: SeedFile | undefined },
): Promise<EmulatorServices> {
  const { clock, clientId, seed, seedFile } = context;

  const settings: EmulatorSettings = {
    retentionDays: options.changeTrackingRetentionDays ?? seedFile?.changeTrackingRetentionDays ?? 7,
    maxPageSize: options.maxPageSize ?? 5000,
    expiredTokenStatus: options.expiredTokenStatus ?? 400,
    maxBatchRequests: options.maxBatchRequests ?? 1000,
    countLimit: 5000,
    omitDeltaLink: false,
    laterDeltaPagesContext: options.laterDeltaPagesContext ?? 'delta',
    deltaLinkRefusal: null,
  };
  const organization = {
    id: guidFrom(`org:${options.organizationName ?? 'emulator'}`),
    name: options.organizationName ?? 'emulator',
    businessUnitId: guidFrom(`bu:${options.organizationName ?? 'emulator'}`),
  };
  const store = new DataverseDataStore(tableSchemasOf(seedFile), clock);
  const generator = new DataverseDataGenerator(store, clock);
  const tokens = await EntraTokenService.create({
    clientId,
    clientSecret: options.clientSecret ?? 'demo-secret',
    tokenLifetimeSec: options.tokenLifetimeSec ?? 3599,
    origin,
    invalidClientStatus: options.invalidClientStatus ?? 401,
    // The tenant the emulator names in WWW-Authenticate always exists.
    tenants: options.tenants ? [options.tenantId ?? 'emulator-tenant', ...options.tenants] : undefined,
    clock,
  });
  const limiter = new ServiceProtectionLimiter(options.limits ?? {}, clock);
  const faultInjector = new FaultInjector(seed);
  const statistics = new RequestStatistics();
  const webhookDispatcher = new WebhookDispatcher({
    organizationName: organization.name,
    organizationId: organization.id,
    businessUnitId: organization.businessUnitId,
    timeoutMs: options.webhookTimeoutMs ?? 60_000,
    maxPayloadBytes: 256 * 1024,
    receiverCaCert: options.webhookCaCert,
    clock,
  });
  store.onChange((event) => webhookDispatcher.handle(event));
  const handler = new WebApiHandler({
    store,
    origin,
    clock,
    organization,
    serviceEndpoints: seedFile?.serviceEndpoints ?? [],
    unreadableTables: seedFile?.unreadableTables ?? [],
    settings: () => ({
      maxPageSize: settings.maxPageSize,
      retentionDays: settings.retentionDays,
      expiredTokenStatus: settings.expiredTokenStatus,
      countLimit: settings.countLimit,
      omitDeltaLink: settings.omitDeltaLink,
      laterDeltaPagesContext: settings.laterDeltaPagesContext,
      deltaLinkRefusal: settings.deltaLinkRefusal,
    }),
  });
  const batch = new BatchProcessor(handler, store, origin, () => settings.maxBatchRequests);
  const admin = new DynamicsEmulatorAdmin({
    store,
    generator,
    tokens,
    limiter,
    faultInjector,
    webhookDispatcher,
    statistics,
    clock,
    settings,
    startup: { contacts: options.contacts ?? 0, seed, seedFile },
  });
  admin.reset();
  return {
    origin,
    settings,
    store,
    tokens,
    limiter,
    faultInjector,
    statistics,
    webhookDispatcher,
    handler,
    batch,
    admin,
  };
}

/**
 * Start the Dataverse Web API emulator (with its Entra ID token endpoint and admin API) on one
 * HTTPS server.
 */
export async function startDynamicsEmulator(
  options: DynamicsEmulatorOptions = {},
): Promise<DynamicsEmulator> {
  const clock = options.clock ?? new EmulatorClock();
  const clientId = options.clientId ?? 'demo-client';
  const tenantId = options.tenantId ?? 'emulator-tenant';
  const seed = options.seed ?? 1;
  const seedFile = options.seedData ?? (options.seedFile ? readSeedFile(options.seedFile) : undefined);
  const host = options.host ?? '127.0.0.1';

  let tls: { cert: string; key: string; caCert: string | undefined } | undefined;
  if (!options.insecureHttp) {
    if (options.tls)
      tls = { cert: options.tls.cert, key: options.tls.key, caCert: options.tls.caCert ?? options.tls.cert };
    else {
      const material = await generateTlsMaterial(['localhost']);
      tls = { cert: material.cert, key: material.key, caCert: material.caCert };
    }
  }

  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    bodyLimit: 64 * 1024 * 1024,
    return503OnClosing: false,
    ...(tls ? { https: { cert: tls.cert, key: tls.key } } : {}),
  });
  // Bodies arrive as text: JSON, multipart/mixed ($batch) and form posts (token) are parsed by
  // the handlers, so malformed input gets the service's own error shape.
  app.removeAllContentTypeParsers();
  for (const type of ['application/json', 'multipart/mixed', 'application/x-www-form-urlencoded', '*']) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (_request, body, done) => done(null, body));
  }

  const openSockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    openSockets.add(socket);
    socket.on('close', () => openSockets.delete(socket));
  });

  let services: EmulatorServices | undefined;
  const ready = (): EmulatorServices => {
    if (!services) throw new DataverseError(503, dataverseErrorCodes.unexpected, 'The emulator is starting.');
    return services;
  };

  app.addHook('onRequest', async (request, reply) => {
    requestState.set(request, { startedAt: performance.now(), delayMs: 0 });
    const path = (request.raw.url ?? '/').split('?')[0] ?? '/';
    if (path.startsWith('/_emulator/') || !services) return;
    const { faultInjector, statistics } = services;
    const decision = faultInjector.decide(path);
    if (decision.delayMs > 0) statistics.countFault('delayed');
    if (decision.kind === 'drop') {
      statistics.countFault('dropped');
      if (decision.delayMs > 0) await sleep(decision.delayMs);
      request.raw.socket.destroy();
      return reply.hijack();
    }
    if (decision.kind === 'hang') {
      statistics.countFault('hung');
      reply.hijack();
      // The peer waits for an answer that never comes; the socket closes when the client gives up
      // or the emulator shuts down.
      await new Promise<void>((resolve) => {
        if (request.raw.socket.destroyed) resolve();
        else request.raw.socket.once('close', () => resolve());
      });
      return;
    }
    if (decision.kind === 'error') {
      statistics.countFault('errors');
      if (decision.delayMs > 0) await sleep(decision.delayMs);
      statistics.record(`${request.method} fault`, decision.status);
      return reply
        .code(decision.status)
        .headers({ 'content-type': jsonContentType, 'odata-version': '4.0' })
        .send(
          JSON.stringify({
            error: { code: dataverseErrorCodes.unexpected, message: 'An unexpected error occurred.' },
          }),
        );
    }
    (requestState.get(request) as RequestState).delayMs = decision.delayMs;
  });

  const delay = async (request: FastifyRequest): Promise<void> => {
    const ms = requestState.get(request)?.delayMs ?? 0;
    if (ms > 0) await sleep(ms);
  };

  // --- Entra ID --------------------------------------------------------------------------------
  app.get<{ Params: { tenant: string } }>(
    '/:tenant/v2.0/.well-known/openid-configuration',
    async (request, reply) => {
      const { tokens, statistics } = ready();
      await delay(request);
      if (!tokens.knowsTenant(request.params.tenant)) {
        const missing = tokens.tenantNotFound(request.params.tenant, 'invalid_tenant');
        statistics.record('GET openid-configuration', missing.status);
        return reply.code(missing.status).send(missing.body);
      }
      statistics.record('GET openid-configuration', 200);
      return reply.code(200).send(tokens.openIdConfiguration(request.params.tenant));
    },
  );
  app.get<{ Params: { tenant: string } }>('/:tenant/discovery/v2.0/keys', async (_request, reply) => {
    const { tokens, statistics } = ready();
    statistics.record('GET keys', 200);
    return reply.code(200).send(tokens.jwks());
  });
  app.post<{ Params: { tenant: string } }>('/:tenant/oauth2/v2.0/token', async (request, reply) => {
    const { tokens, statistics } = ready();
    await delay(request);
    const body = typeof request.body === 'string' ? request.body : '';
    const result = await tokens.issueToken(request.params.tenant, new URLSearchParams(body));
    statistics.record('POST token', result.status);
    if (result.status === 200) statistics.countToken();
    return reply
      .code(result.status)
      .headers({ 'cache-control': 'no-store, no-cache', pragma: 'no-cache' })
      .send(result.body);
  });

  // --- Web API ---------------------------------------------------------------------------------
  const apiHandler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const { origin, tokens, limiter, statistics, handler, batch, store } = ready();
    const url = request.raw.url ?? '/';
    const method = request.method;
    const route = routeKey(handler, method, url);
    const check = await tokens.checkAuthorization(request.headers.authorization);
    if (!check.ok) {
      statistics.record(route, 401);
      const error = new DataverseError(
        401,
        check.reason === 'expired'
          ? dataverseErrorCodes.expiredAuthTicket
          : dataverseErrorCodes.badAuthTicket,
        check.message,
      );
      return reply
        .code(401)
        .headers({
          'content-type': jsonContentType,
          'odata-version': '4.0',
          'www-authenticate': `Bearer authorization_uri=${origin}/${tenantId}/oauth2/authorize, resource_id=${origin}/`,
        })
        .send(JSON.stringify(error.body()));
    }
    const user: AuthenticatedUser = check.user;
    const body = typeof request.body === 'string' ? request.body : undefined;
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const isBatch = url.split('?')[0] === `${apiPathPrefix}$batch`;
    const counted = isBatch
      ? batch.countRequests({ headers, body })
      : { requests: 1, writes: method === 'GET' ? 0 : 1 };
    const parts = counted.requests;
    const limits = limiter.current();
    const decision = limiter.admit(user.userId, limits.countBatchParts ? parts : 1);
    if (!decision.ok) {
      statistics.record(route, 429);
      return reply
        .code(429)
        .headers({
          'content-type': jsonContentType,
          'odata-version': '4.0',
          'retry-after': String(decision.retryAfterSec),
        })
        .send(JSON.stringify({ error: { code: decision.code, message: decision.message } }));
    }
    const leave = statistics.enter();
    const state = requestState.get(request) as RequestState;
    const chargedMs = counted.writes * limits.writeExecutionMs;
    reply.raw.once('close', () => {
      leave();
      const executionMs = performance.now() - state.startedAt + chargedMs;
      statistics.countExecution(executionMs);
      decision.release(executionMs);
    });
    statistics.countEntitlement(parts);
    await delay(request);
    const apiRequest = { method, url, headers, body, user, correlationId: randomUUID() };
    let response: WebApiResponse;
    if (isBatch && method === 'POST') response = batch.process(apiRequest);
    else if (isBatch)
      response = {
        status: 405,
        headers: { 'content-type': jsonContentType },
        body: JSON.stringify({
          error: { code: dataverseErrorCodes.invalidArgument, message: '$batch needs POST.' },
        }),
      };
    else response = handler.handle(apiRequest);
    if (method !== 'GET') store.compact();
    statistics.record(route, response.status);
    return reply
      .code(response.status)
      .headers({
        ...response.headers,
        ...limiter.headers(user.userId),
        req_id: apiRequest.correlationId,
        'x-ms-service-request-id': apiRequest.correlationId,
      })
      .send(response.body);
  };
  app.all('/api/data/v9.2', apiHandler);
  app.all('/api/data/v9.2/*', apiHandler);

  registerAdminRoutes(app, () => ready().admin, options.adminKey);

  app.setNotFoundHandler(async (request, reply) =>
    reply
      .code(404)
      .headers({ 'content-type': jsonContentType })
      .send(
        JSON.stringify({
          error: {
            code: dataverseErrorCodes.propertyNotFound,
            message: `Resource not found for the segment '${request.url.split('?')[0]}'.`,
          },
        }),
      ),
  );
  app.setErrorHandler(async (error, _request, reply) => {
    const status = error instanceof DataverseError ? error.status : 500;
    const code = error instanceof DataverseError ? error.code : dataverseErrorCodes.unexpected;
    return reply
      .code(status)
      .headers({ 'content-type': jsonContentType })
      .send(JSON.stringify({ error: { code, message: error instanceof Error ? error.message : 'error' } }));
  });

  await app.listen({ port: options.port ?? 0, host });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('emulator did not bind a TCP port');
  const origin = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  try {
    services = await buildServices(options, origin, { clock, clientId, seed, seedFile });
  } catch (error) {
    await app.close();
    throw error;
  }
  const built = services;

  let closed = false;
  return {
    url: origin,
    authorityHost: origin,
    tokenUrl: `${origin}/${tenantId}/oauth2/v2.0/token`,
    tenantId,
    clientId,
    caCert: tls?.caCert,
    admin: built.admin,
    close: async () => {
      if (closed) return;
      closed = true;
      await built.webhookDispatcher.close();
      for (const socket of openSockets) socket.destroy();
      await app.close();
    },
  };
}

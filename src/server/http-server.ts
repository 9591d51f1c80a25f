import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { LoginRateLimiter } from './auth/login-rate-limiter.js';
import { createAuthHook, type RouteAccess } from './auth/request-auth.js';
import { SessionStore } from './auth/session-store.js';
import { readDashboardBundle } from './dashboard/dashboard-bundle.js';
import { renderSignInRequiredPage } from './dashboard/login-page.js';
import { toErrorResponse } from './http-error.js';
import { OperatorMetrics } from './metrics/operator-metrics.js';
import { registerConfigRoutes } from './routes/config-routes.js';
import { registerDashboardRoutes } from './routes/dashboard-routes.js';
import { registerDeadLetterRoutes } from './routes/dead-letter-routes.js';
import { registerHealthRoutes } from './routes/health-routes.js';
import { registerMetricsRoutes } from './routes/metrics-routes.js';
import { registerOptOutRoutes } from './routes/opt-out-routes.js';
import { registerPrivacyRoutes } from './routes/privacy-routes.js';
import { registerRecordRoutes } from './routes/record-routes.js';
import { registerRunRoutes } from './routes/run-routes.js';
import { createAuditWriter, type RouteContext } from './routes/route-context.js';
import { registerSessionRoutes } from './routes/session-routes.js';
import { registerStatusRoutes } from './routes/status-routes.js';
import { registerTraceRoutes } from './routes/trace-routes.js';
import { registerWebhookRoutes } from './routes/webhook-routes.js';
import type { ServerDependencies } from './server-dependencies.js';
import { StatusHistory } from './status/status-history.js';
import { StatusReader } from './status/status-reader.js';
import { emailEventsFlowId } from '../engine/email-events/email-event-settings.js';

/** One registered route, as the route-inventory test walks them. */
export interface RouteEntry {
  method: string;
  url: string;
  access: RouteAccess;
}

/** The operator app (ready, not listening), plus what tests and the CLI reach into. */
export interface OperatorApp {
  readonly fastify: FastifyInstance;
  /** Every route registered, with its access level (HEAD twins included). */
  readonly routeInventory: readonly RouteEntry[];
  /** In-process requests (tests). */
  inject: FastifyInstance['inject'];
  /** Take a status sample now (tests; the app samples on a timer too). */
  sampleHistory(): Promise<void>;
  close(): Promise<void>;
}

/** Responses whose text passes through the redactor on the way out. */
const scrubbedTypes = /^(application\/json|text\/html|text\/plain|application\/openmetrics-text)/;

/**
 * Build the operator HTTP app (not listening): JSON API, dashboard, `/metrics`, health probes and
 * the Dataverse webhook receiver. Every route is admin-only unless it declares otherwise. Use
 * `app.inject()` in tests; {@link startHttpServer} to serve.
 */
export async function buildHttpApp(deps: ServerDependencies): Promise<OperatorApp> {
  const options = deps.options ?? {};
  // Before anything listens: a build without the browser bundle fails here, saying how to build it.
  const dashboardBundle = await readDashboardBundle();
  // Loaded here, not at import: a sync process without the operator server (`--no-server`) does not
  // carry fastify (~3 MiB of live heap, which V8 lets grow to several times that before collecting).
  const [{ default: Fastify }, { default: formbody }] = await Promise.all([
    import('fastify'),
    import('@fastify/formbody'),
  ]);
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimitBytes ?? 64 * 1024,
    trustProxy: options.trustProxy ?? false,
    // Ids in paths are short; a long URL is abuse.
    routerOptions: { maxParamLength: 200 },
    return503OnClosing: true,
  });
  const inventory: RouteEntry[] = [];
  app.addHook('onRoute', (route) => {
    const methods: readonly HTTPMethods[] = Array.isArray(route.method) ? route.method : [route.method];
    const access: RouteAccess = route.config?.access ?? 'admin';
    for (const method of methods) inventory.push({ method, url: route.url ?? route.path, access });
  });
  await app.register(formbody, { bodyLimit: 4096 });

  const sessions = new SessionStore({
    clock: deps.clock,
    idleMinutes: options.sessionIdleMinutes ?? 120,
    maxHours: options.sessionMaxHours ?? 12,
  });
  const status = new StatusReader(
    deps,
    options.statusCacheMs ?? 1000,
    options.deadLetterCodesCacheMs ?? 15_000,
  );
  const history = new StatusHistory(status, deps.logger, {
    intervalMs: options.historyIntervalMs ?? 5000,
    size: options.historySize ?? 720,
  });
  const ctx: RouteContext = {
    deps,
    status,
    history,
    metrics: new OperatorMetrics(deps.registry, deps.engine, {
      optOut: deps.optOut !== undefined,
      journalFlows: deps.config.flows.emailEvents.enabled ? [emailEventsFlowId] : [],
    }),
    sessions,
    loginLimiter: new LoginRateLimiter(deps.clock, options.loginAttemptsPerMinute ?? 10),
    webhookBodyLimitBytes: options.webhookBodyLimitBytes ?? 1024 * 1024,
    audit: createAuditWriter(deps),
  };

  app.addHook('onRequest', createAuthHook(deps.adminToken, sessions));
  app.addHook('onSend', async (_request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'same-origin');
    reply.header('cache-control', 'no-store');
    const type = String(reply.getHeader('content-type') ?? '');
    // The choke point for I11 on the way out: any secret or e-mail that slipped into a body goes.
    return typeof payload === 'string' && scrubbedTypes.test(type) ? deps.redactor.scrub(payload) : payload;
  });
  app.setErrorHandler((error, request, reply) => {
    const { status: code, body } = toErrorResponse(error, deps.redactor);
    if (code >= 500) deps.logger.error({ err: error, route: request.routeOptions.url }, 'request failed');
    if (code === 401 && request.routeOptions.config?.page === true && request.method === 'GET')
      return reply.code(401).type('text/html; charset=utf-8').send(renderSignInRequiredPage());
    return reply.code(code).send(body);
  });
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'no such route' } }),
  );

  registerHealthRoutes(app, ctx);
  registerSessionRoutes(app, ctx, options.sessionMaxHours ?? 12);
  registerDashboardRoutes(app, dashboardBundle);
  registerStatusRoutes(app, ctx);
  registerDeadLetterRoutes(app, ctx);
  registerRecordRoutes(app, ctx);
  registerTraceRoutes(app, ctx);
  registerRunRoutes(app, ctx);
  registerOptOutRoutes(app, ctx);
  registerPrivacyRoutes(app, ctx);
  registerConfigRoutes(app, ctx);
  registerMetricsRoutes(app, ctx);
  registerWebhookRoutes(app, ctx);

  history.start();
  app.addHook('onClose', () => {
    history.stop();
    return Promise.resolve();
  });
  await app.ready();
  return {
    fastify: app,
    routeInventory: inventory,
    inject: app.inject.bind(app),
    sampleHistory: () => history.sampleNow(),
    close: () => app.close(),
  };
}

/** A listening operator server. */
export interface RunningHttpServer {
  /** `http://host:port` (no trailing slash). */
  url: string;
  port: number;
  app: OperatorApp;
  close(): Promise<void>;
}

/** Build the app and listen on `host:port` (port 0 picks a free one). */
export async function startHttpServer(
  deps: ServerDependencies,
  options: { host: string; port: number },
): Promise<RunningHttpServer> {
  const app = await buildHttpApp(deps);
  try {
    await app.fastify.listen({ host: options.host, port: options.port });
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.fastify.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { url: `http://${host}:${port}`, port, app, close: () => app.close() };
}

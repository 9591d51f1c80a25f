import type { FastifyInstance } from 'fastify';
import type { RouteContext } from './route-context.js';

/** `/healthz` (the process answers) and `/readyz` (store reachable, engine started); no auth. */
export function registerHealthRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/healthz', { config: { access: 'public' } }, () => ({ status: 'ok' }));

  app.get('/readyz', { config: { access: 'public' } }, async (_request, reply) => {
    let store: 'ok' | 'unreachable' = 'ok';
    try {
      await ctx.deps.store.checkpoints.get('readiness-probe');
    } catch (error) {
      ctx.deps.logger.warn({ err: error }, 'readiness: the store is unreachable');
      store = 'unreachable';
    }
    const engine = ctx.deps.engineStarted() ? 'started' : 'not-started';
    const ready = store === 'ok' && engine === 'started';
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not-ready', checks: { store, engine } });
  });
}

import type { FastifyInstance } from 'fastify';
import type { RouteContext } from './route-context.js';

/** `/metrics` in the Prometheus text format; admin token required (Prometheus sends it as a bearer). */
export function registerMetricsRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/metrics', async (_request, reply) => {
    try {
      ctx.metrics.update(await ctx.status.read());
    } catch (error) {
      ctx.deps.logger.warn({ err: error }, 'metrics: reading the status failed');
      ctx.metrics.markDown();
    }
    const text = await ctx.deps.registry.metrics();
    return reply.type(ctx.deps.registry.contentType).send(text);
  });
}

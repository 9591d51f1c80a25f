import type { FastifyInstance } from 'fastify';
import { toPrintableConfig } from '../../config/printable-config.js';
import type { RouteContext } from './route-context.js';

/** The configuration in force, defaults applied, every secret replaced by its source. */
export function registerConfigRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/api/config', () => toPrintableConfig(ctx.deps.config));
}

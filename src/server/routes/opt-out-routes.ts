import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { notConfigured } from '../http-error.js';
import type { OptOutProvider } from '../providers/opt-out-provider.js';
import { definedOnly, pageQuerySchema, parseInput } from './route-input.js';
import type { RouteContext } from './route-context.js';

const decisionsQuery = pageQuerySchema.extend({
  /** Exact Dynamics contact id. */
  contact: z.string().min(1).max(200).optional(),
});

/** Opt-out decisions, export-file freshness, SFTP files and usage (through the issue-7 provider). */
export function registerOptOutRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const provider = (): OptOutProvider => {
    if (!ctx.deps.optOut) throw notConfigured('opt-out tracking');
    return ctx.deps.optOut;
  };

  app.get('/api/opt-out/decisions', async (request) => {
    const query = parseInput(decisionsQuery, request.query, 'query');
    return provider().listDecisions(
      definedOnly({ recordKey: query.contact }),
      definedOnly({ cursor: query.cursor, limit: query.limit }),
    );
  });

  app.get('/api/opt-out/freshness', () => provider().freshness());

  app.get('/api/sftp/files', async (request) => {
    const query = parseInput(pageQuerySchema, request.query, 'query');
    return provider().listFiles(definedOnly({ cursor: query.cursor, limit: query.limit }));
  });

  app.get('/api/sftp/usage', async () => ({ usage: await provider().sftpUsage() }));
}

import Fastify from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import type { SyncEngine } from '../../engine/sync-engine.js';
import type { SyncRuntime } from './sync-runtime.js';

/**
 * Start the operator HTTP server for a running sync. (Interim: status and health only; the full
 * API and dashboard are wired here when they land.)
 */
export async function startOperatorServer(
  runtime: SyncRuntime,
  engine: SyncEngine,
  options: { host: string; port: number },
): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
  const token = Buffer.from(runtime.config.server.adminToken.reveal());
  const authorized = (header: string | undefined): boolean => {
    const given = Buffer.from((header ?? '').replace(/^Bearer\s+/i, ''));
    return given.length === token.length && timingSafeEqual(given, token);
  };
  app.get('/healthz', () => ({ ok: true }));
  app.get('/api/status', async (request, reply) => {
    if (!authorized(request.headers.authorization))
      return reply.code(401).send({ error: { code: 'UNAUTHORIZED', message: 'admin token required' } });
    return {
      flows: await engine.flowStatuses(),
      budget: runtime.campaign.budget.usage(),
      totals: engine.stats.totals(),
    };
  });
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return { url: `http://${options.host}:${port}`, close: () => app.close() };
}

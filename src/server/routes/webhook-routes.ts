import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isSameSecret } from '../auth/secret-compare.js';
import { notConfigured } from '../http-error.js';
import type { RouteContext } from './route-context.js';
import { SyncError } from '../../core/errors.js';

const entityHeader = 'x-ms-dynamics-entity-name';
const tableName = /^[a-z_][a-z0-9_]{0,127}$/;

/** The table a notification is about: the documented header first, then `PrimaryEntityName`. */
function tableOf(request: FastifyRequest): string | null {
  const header = request.headers[entityHeader];
  const fromHeader = typeof header === 'string' ? header : undefined;
  const body = request.body as { PrimaryEntityName?: unknown } | null | undefined;
  const fromBody = typeof body?.PrimaryEntityName === 'string' ? body.PrimaryEntityName : undefined;
  const name = (fromHeader ?? fromBody ?? '').trim().toLowerCase();
  return tableName.test(name) ? name : null;
}

/**
 * `POST /webhooks/dynamics`: Dataverse change notifications (service endpoint, HttpHeader auth).
 * Authenticated by the configured webhook key in its header — not by the admin token. The key is
 * checked before the body is read; the answer (202) comes at once, the read happens in the engine.
 */
export function registerWebhookRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post(
    '/webhooks/dynamics',
    {
      config: { access: 'webhook' },
      bodyLimit: ctx.webhookBodyLimitBytes,
      onRequest: async (request) => {
        const receiver = ctx.deps.dynamicsWebhook;
        if (!receiver) throw notConfigured('the Dataverse webhook receiver');
        const given = request.headers[receiver.header.toLowerCase()];
        if (typeof given !== 'string' || !isSameSecret(given, receiver.key))
          throw new SyncError(
            'WEBHOOK_UNAUTHORIZED',
            `the webhook key header ${receiver.header} is missing or wrong`,
          );
        return Promise.resolve();
      },
    },
    async (request, reply) => {
      const table = tableOf(request);
      if (table === null)
        throw new SyncError('WEBHOOK_NO_ENTITY', `no table name in ${entityHeader} or PrimaryEntityName`);
      try {
        ctx.deps.dynamicsWebhook!.onNotification(table);
      } catch (error) {
        ctx.deps.logger.warn({ err: error, table }, 'webhook notification handler failed');
      }
      return reply.code(202).send({ accepted: true, table });
    },
  );
}

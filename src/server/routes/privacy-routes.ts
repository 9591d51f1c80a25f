import { isDynamicsId } from '../../core/record-key.js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { privacyRegulations } from '../../config/config-schema.js';
import { actorOf } from '../auth/request-auth.js';
import { notConfigured } from '../http-error.js';
import { privacyRequestStates, type PrivacyProvider } from '../providers/privacy-provider.js';
import { definedOnly, pageQuerySchema, parseInput } from './route-input.js';
import type { RouteContext } from './route-context.js';
import { SyncError } from '../../core/errors.js';

const isLowerCaseDynamicsId = (id: string): boolean => isDynamicsId(id) && id === id.toLowerCase();

const listQuery = pageQuerySchema.extend({
  state: z.enum(privacyRequestStates).optional(),
  contact: z.string().refine(isLowerCaseDynamicsId, 'must be a lower-case contact id (GUID)').optional(),
});
const idParams = z.object({ id: z.string().min(1).max(200) });
const createBody = z.strictObject({
  contactId: z
    .string()
    .transform((id) => id.toLowerCase())
    .pipe(z.string().refine(isLowerCaseDynamicsId, 'must be a Dynamics contact id (GUID)')),
  regulation: z.enum(privacyRegulations).optional(),
});

/** Privacy requests: list, one with its steps, create (through the issue-8 provider). */
export function registerPrivacyRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const provider = (): PrivacyProvider => {
    if (!ctx.deps.privacy) throw notConfigured('privacy requests');
    return ctx.deps.privacy;
  };

  app.get('/api/privacy/requests', async (request) => {
    const query = parseInput(listQuery, request.query, 'query');
    return provider().list(
      definedOnly({ state: query.state, contactId: query.contact }),
      definedOnly({ cursor: query.cursor, limit: query.limit }),
    );
  });

  app.get('/api/privacy/requests/:id', async (request) => {
    const { id } = parseInput(idParams, request.params, 'path');
    const found = await provider().get(id);
    if (!found) throw new SyncError('PRIVACY_REQUEST_NOT_FOUND', 'no such privacy request');
    return found;
  });

  app.post('/api/privacy/requests', async (request, reply) => {
    const privacy = provider();
    const body = parseInput(createBody, request.body, 'body');
    const created = await privacy.create({
      contactId: body.contactId,
      requestedBy: actorOf(request),
      ...(body.regulation ? { regulation: body.regulation } : {}),
    });
    await ctx.audit(request, 'privacy.request', { outcome: 'created', detail: `request ${created.id}` });
    return reply.code(201).send(created);
  });
}

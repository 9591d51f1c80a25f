import type { FastifyInstance } from 'fastify';
import type { CampaignEmulatorContext } from './campaign-emulator-context.js';

/** `POST /ims/token/v3` (form-encoded client credentials; query parameters accepted too). */
export function registerImsTokenRoutes(app: FastifyInstance, context: CampaignEmulatorContext): void {
  app.post('/ims/token/v3', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const body =
      typeof request.body === 'object' && request.body !== null
        ? (request.body as Record<string, unknown>)
        : {};
    const result = context.tokens.issue({ ...query, ...body });
    if (result.status === 200) context.load.recordTokenIssued();
    context.load.recordResponse('POST ims/token', result.status);
    return reply
      .status(result.status)
      .header('content-type', 'application/json;charset=utf-8')
      .send(JSON.stringify(result.body));
  });
}

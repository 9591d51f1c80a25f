import type { FastifyInstance, FastifyReply } from 'fastify';
import type { CampaignEmulatorContext } from './campaign-emulator-context.js';
import { invalidTokenBody } from './campaign-wire-format.js';
import { privacyError } from './privacy-service-emulator.js';

/**
 * Adobe Privacy Service jobs API at `/data/core/privacy/jobs`: needs the IMS bearer token, the
 * client id as `x-api-key` and the organization as `x-gw-ims-org-id`.
 */
export function registerPrivacyServiceRoutes(app: FastifyInstance, context: CampaignEmulatorContext): void {
  const send = (reply: FastifyReply, operation: string, status: number, body: unknown) => {
    context.load.recordResponse(operation, status);
    return reply
      .status(status)
      .header('content-type', 'application/json;charset=utf-8')
      .send(JSON.stringify(body));
  };
  app.addHook('preHandler', async (request, reply) => {
    if (!request.url.startsWith('/data/core/privacy/') && !request.url.startsWith('/data/core/idnamespace/'))
      return;
    const apiKey = request.headers['x-api-key'];
    if (
      !context.tokens.isAuthorized(
        request.headers.authorization,
        typeof apiKey === 'string' ? apiKey : undefined,
      )
    )
      return send(reply, 'privacy auth', 401, invalidTokenBody);
    if (request.headers['x-gw-ims-org-id'] !== context.imsOrgId)
      return send(reply, 'privacy auth', 403, { error_code: '403023', message: 'Profile is not valid' });
    context.tick();
  });
  app.post('/data/core/privacy/jobs', async (request, reply) => {
    const result = context.privacyService.submit(request.body, String(request.headers['x-api-key']));
    return send(reply, 'POST privacy/jobs', result.status, result.body);
  });
  app.get('/data/core/privacy/jobs', async (request, reply) => {
    const query = new URL(request.url, 'http://emulator.invalid').searchParams;
    const result = context.privacyService.list(query);
    return send(reply, 'GET privacy/jobs', result.status, result.body);
  });
  app.get<{ Params: { jobId: string } }>('/data/core/privacy/jobs/:jobId', async (request, reply) => {
    const job = context.privacyService.get(request.params.jobId);
    if (!job) {
      const missing = privacyError(404, '1024-400', 'Job not found', 'no job has this id');
      return send(reply, 'GET privacy/job', missing.status, missing.body);
    }
    return send(reply, 'GET privacy/job', 200, context.privacyService.serialize(job));
  });
  // Identity Service "list namespaces": the standard identity namespaces, plus every Privacy
  // Service namespace the instance maps (`privacyNamespaces`). The emulator has one list for
  // "created in Identity Service" and "mapped in Campaign": leaving a namespace out of
  // `privacyNamespaces` removes it from both.
  app.get('/data/core/idnamespace/identities', async (_request, reply) => {
    const standard = ['email', 'phone', 'ECID'];
    const codes = [
      ...standard,
      ...context.privacyTool.namespaces
        .map((namespace) => namespace.privacyServiceNamespace)
        .filter((code) => !standard.some((known) => known.toLowerCase() === code.toLowerCase())),
    ];
    const body = codes.map((code, index) => ({
      id: index + 1,
      code,
      name: code,
      status: 'ACTIVE',
      custom: !standard.includes(code),
      idType:
        code === 'email' ? 'EMAIL' : code === 'phone' ? 'PHONE' : code === 'ECID' ? 'COOKIE' : 'CROSS_DEVICE',
    }));
    return send(reply, 'GET idnamespace/identities', 200, body);
  });
}

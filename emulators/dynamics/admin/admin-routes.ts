import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { adminRefusal } from '../../shared/admin-access.js';
import { definedOnly, faultSettingsSchema } from '../../shared/fault-settings-schema.js';
import { changeMessages } from '../store/dataverse-data-store.js';
import { DataverseError } from '../dataverse-error.js';
import { laterDeltaPagesContexts } from '../web-api/collection-reader.js';
import type { DynamicsEmulatorAdmin } from './dynamics-emulator-admin.js';

const limitsSchema = z
  .object({
    requests: z.number().int().positive(),
    executionTimeMs: z.number().positive(),
    windowMs: z.number().int().positive(),
    concurrency: z.number().int().positive(),
    enforcementSlack: z.number().min(0),
    maxRetryAfterSec: z.number().int().positive(),
    diagnosticHeaders: z.boolean(),
    dopHint: z.number().int().nonnegative(),
    countBatchParts: z.boolean(),
    writeExecutionMs: z.number().min(0),
  })
  .partial()
  .strict();

const settingsSchema = z
  .object({
    retentionDays: z.number().int().min(0).max(365),
    maxPageSize: z.number().int().positive(),
    expiredTokenStatus: z.number().int().min(400).max(599),
    maxBatchRequests: z.number().int().positive(),
    countLimit: z.number().int().positive(),
    omitDeltaLink: z.boolean(),
    laterDeltaPagesContext: z.enum(laterDeltaPagesContexts),
    deltaLinkRefusal: z
      .object({
        status: z.number().int().min(400).max(499),
        code: z.string(),
        message: z.string().default('The request is invalid.'),
        times: z.number().int().positive().optional(),
      })
      .strict()
      .nullable(),
  })
  .partial()
  .strict();

const webhookSchema = z
  .object({
    url: z.string().url(),
    table: z.string(),
    messages: z.array(z.enum(changeMessages)).min(1),
    auth: z.discriminatedUnion('type', [
      z.object({ type: z.literal('WebhookKey'), key: z.string() }),
      z.object({ type: z.literal('HttpHeader'), headers: z.record(z.string(), z.string()) }),
      z.object({ type: z.literal('HttpQueryString'), parameters: z.record(z.string(), z.string()) }),
    ]),
    filteringAttributes: z.array(z.string()).optional(),
  })
  .strict();

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) {
    throw new DataverseError(
      400,
      'EMULATOR_BAD_REQUEST',
      result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '),
    );
  }
  return result.data;
}

function jsonBody(request: FastifyRequest): unknown {
  const raw = request.body;
  if (typeof raw !== 'string' || raw.trim() === '') return {};
  try {
    return JSON.parse(raw);
  } catch {
    throw new DataverseError(400, 'EMULATOR_BAD_REQUEST', 'The admin request body is not JSON.');
  }
}

/**
 * The admin API under `/_emulator/`. Open to loopback callers when no admin key is configured;
 * with a key, every call needs the header `x-emulator-admin-key`.
 */
export function registerAdminRoutes(
  app: FastifyInstance,
  getAdmin: () => DynamicsEmulatorAdmin,
  adminKey: string | undefined,
): void {
  const guard = (request: FastifyRequest): void => {
    const refusal = adminRefusal(request, adminKey);
    if (refusal) throw new DataverseError(refusal.status, refusal.code, refusal.message);
  };
  const route = (
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    handler: (
      request: FastifyRequest<{ Params: Record<string, string> }>,
      admin: DynamicsEmulatorAdmin,
    ) => unknown,
  ): void => {
    app.route<{ Params: Record<string, string> }>({
      method,
      url: `/_emulator${url}`,
      handler: async (request, reply: FastifyReply) => {
        try {
          guard(request);
          const result = await handler(request, getAdmin());
          return reply.code(result === undefined ? 204 : 200).send(result === undefined ? undefined : result);
        } catch (error) {
          if (error instanceof DataverseError) return reply.code(error.status).send(error.body());
          throw error;
        }
      },
    });
  };

  route('GET', '/health', () => ({ ok: true }));
  route('GET', '/stats', (_r, admin) => admin.stats());
  route('DELETE', '/stats', (_r, admin) => admin.resetStats());
  route('POST', '/reset', (r, admin) => {
    const body = parse(
      z.object({ contacts: z.number().int().nonnegative(), seed: z.number().int() }).partial().strict(),
      jsonBody(r),
    );
    admin.reset(body);
    return { contacts: admin.countRows('contact') };
  });
  route('POST', '/generate', (r, admin) => {
    const body = parse(
      z
        .object({
          count: z.number().int().nonnegative(),
          table: z.string().optional(),
          seed: z.number().int().optional(),
        })
        .strict(),
      jsonBody(r),
    );
    const ids = admin.generate(body.count, {
      ...(body.table ? { table: body.table } : {}),
      ...(body.seed !== undefined ? { seed: body.seed } : {}),
    });
    return { generated: ids.length, ids: ids.length <= 1000 ? ids : undefined };
  });
  route('POST', '/mutate', (r, admin) =>
    admin.mutate(
      parse(
        z
          .object({
            table: z.string(),
            creates: z.number().int().nonnegative(),
            updates: z.number().int().nonnegative(),
            deletes: z.number().int().nonnegative(),
            seed: z.number().int(),
          })
          .partial()
          .strict(),
        jsonBody(r),
      ),
    ),
  );
  route('POST', '/tables/:table/rows', (r, admin) => {
    const body = parse(z.object({ values: z.record(z.string(), z.unknown()) }).strict(), jsonBody(r));
    return admin.createRow(r.params.table ?? '', body.values);
  });
  route('GET', '/tables/:table/rows/:id', (r, admin) => {
    const row = admin.getRow(r.params.table ?? '', r.params.id ?? '');
    if (!row) throw new DataverseError(404, 'EMULATOR_NOT_FOUND', 'No such row.');
    return row;
  });
  route('PATCH', '/tables/:table/rows/:id', (r, admin) => {
    const body = parse(z.object({ values: z.record(z.string(), z.unknown()) }).strict(), jsonBody(r));
    return admin.updateRow(r.params.table ?? '', r.params.id ?? '', body.values);
  });
  route('DELETE', '/tables/:table/rows/:id', (r, admin) =>
    admin.deleteRow(r.params.table ?? '', r.params.id ?? ''),
  );
  route('GET', '/tables/:table/count', (r, admin) => ({ count: admin.countRows(r.params.table ?? '') }));
  route('PUT', '/tables/:table/change-tracking', (r, admin) => {
    const body = parse(z.object({ enabled: z.boolean() }).strict(), jsonBody(r));
    admin.setChangeTracking(r.params.table ?? '', body.enabled);
    return { enabled: body.enabled };
  });
  route('GET', '/tables/:table/keys', (r, admin) => ({ keys: admin.alternateKeys(r.params.table ?? '') }));
  route('PUT', '/tables/:table/keys', (r, admin) => {
    const body = parse(
      z
        .object({
          keys: z.array(
            z
              .object({ name: z.string().regex(/^[a-z][a-z0-9_]*$/), columns: z.array(z.string()).min(1) })
              .strict(),
          ),
        })
        .strict(),
      jsonBody(r),
    );
    admin.setAlternateKeys(r.params.table ?? '', body.keys);
    return { keys: admin.alternateKeys(r.params.table ?? '') };
  });
  route('POST', '/change-tracking/expire', (_r, admin) => admin.expireDeltaTokens());
  route('GET', '/settings', (_r, admin) => admin.settings);
  route('PUT', '/settings', (r, admin) =>
    Object.assign(admin.settings, definedOnly(parse(settingsSchema, jsonBody(r)))),
  );
  route('GET', '/faults', (_r, admin) => admin.faults());
  route('PUT', '/faults', (r, admin) =>
    admin.configureFaults(definedOnly(parse(faultSettingsSchema, jsonBody(r)))),
  );
  route('DELETE', '/faults', (_r, admin) => admin.resetFaults());
  route('POST', '/faults/throttle', (r, admin) => {
    const body = parse(
      z
        .object({
          count: z.number().int().nonnegative(),
          retryAfterSec: z.number().int().positive().optional(),
          reason: z.enum(['requests', 'executionTime', 'concurrency']).optional(),
        })
        .strict(),
      jsonBody(r),
    );
    admin.throttleNext(body.count, body.retryAfterSec ?? 1, body.reason ?? 'requests');
  });
  route('GET', '/limits', (_r, admin) => admin.limits());
  route('PUT', '/limits', (r, admin) => admin.configureLimits(definedOnly(parse(limitsSchema, jsonBody(r)))));
  route('POST', '/limits/reset-windows', (_r, admin) => admin.resetLimitWindows());
  route('GET', '/clock', (_r, admin) => admin.clock.state());
  route('POST', '/clock', (r, admin) => {
    const body = parse(
      z
        .object({
          advanceMs: z.number().nonnegative(),
          freeze: z.union([z.boolean(), z.number()]),
          unfreeze: z.boolean(),
        })
        .partial()
        .strict(),
      jsonBody(r),
    );
    if (body.freeze !== undefined && body.freeze !== false)
      admin.clock.freeze(body.freeze === true ? undefined : body.freeze);
    if (body.advanceMs !== undefined) admin.clock.advance(body.advanceMs);
    if (body.unfreeze) admin.clock.unfreeze();
    return admin.clock.state();
  });
  route('POST', '/tokens/revoke', (r, admin) => {
    const body = parse(z.object({ tokenId: z.string().optional() }).strict(), jsonBody(r));
    admin.revokeTokens(body.tokenId);
  });
  route('POST', '/tokens/expire', (_r, admin) => admin.expireTokens());
  route('PUT', '/tokens/lifetime', (r, admin) => {
    const body = parse(z.object({ seconds: z.number().int().positive() }).strict(), jsonBody(r));
    admin.setTokenLifetime(body.seconds);
  });
  route('GET', '/webhooks', (_r, admin) => admin.webhooks());
  route('POST', '/webhooks', (r, admin) => ({
    id: admin.registerWebhook(parse(webhookSchema, jsonBody(r))),
  }));
  route('DELETE', '/webhooks/:id', (r, admin) => {
    if (!admin.unregisterWebhook(r.params.id ?? ''))
      throw new DataverseError(404, 'EMULATOR_NOT_FOUND', 'No such webhook.');
  });
  route('GET', '/webhooks/deliveries', (_r, admin) => admin.webhookDeliveries());
}

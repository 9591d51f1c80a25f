import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { adminRefusal } from '../shared/admin-access.js';
import { definedOnly, faultSettingsSchema } from '../shared/fault-settings-schema.js';
import type { CampaignEmulatorAdmin } from './campaign-emulator-admin.js';
import { errorEnvelopes } from './campaign-wire-format.js';
import { undeclaredKeyAnswers } from './campaign-emulator-context.js';
import { malformedRowKinds } from './sftp/opt-out-export-format.js';
import { noChangeBehaviours } from './sftp/opt-out-export-workflow.js';
import { workflowDefinitionSchema } from './campaign-workflow-model.js';

/** An admin-API failure: `{ "error": { "code", "message" } }` like the Dynamics emulator's. */
class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) {
    throw new AdminError(
      400,
      'EMULATOR_BAD_REQUEST',
      result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '),
    );
  }
  return result.data;
}

const limitsSchema = z
  .object({
    callsPerSecond: z.number().positive().nullable(),
    retryAfterSec: z.number().int().nonnegative().nullable(),
  })
  .partial()
  .strict();

const settingsSchema = z
  .object({
    bigTableThreshold: z.number().int().nonnegative(),
    errorEnvelope: z.enum(errorEnvelopes),
    hiddenWriteStatus: z.union([z.literal(404), z.literal(500)]),
    undeclaredKeyAnswer: z.enum(undeclaredKeyAnswers),
    undeclaredKeyResources: z.array(z.string()),
    signalMinIntervalMs: z.number().int().nonnegative(),
    signalErrorStatus: z.union([z.literal(400), z.literal(500)]),
  })
  .partial()
  .strict();

const seedSchema = z
  .object({
    foreign: z.number().int().nonnegative(),
    externalIds: z.array(z.string()),
    records: z.array(z.record(z.string(), z.unknown())),
  })
  .partial()
  .strict();

const slowWriteSchema = z
  .object({ chunks: z.number().int().positive(), intervalMs: z.number().nonnegative() })
  .strict()
  .nullable();

const workflowSettingsSchema = z
  .object({
    runAtUtc: z.string(),
    whenNoChanges: z.enum(noChangeBehaviours),
    slowWrite: slowWriteSchema,
    trailer: z.boolean(),
  })
  .partial()
  .strict();

const recordBody = z.record(z.string(), z.unknown());

const campaignRefSchema = z.object({ id: z.string().min(1), label: z.string() }).strict();
const rate = z.number().min(0).max(1);

const deliverySchema = z
  .object({
    profiles: z.array(z.string()),
    campaign: campaignRefSchema,
    delivery: campaignRefSchema,
    bounceRate: rate,
    hardBounceShare: rate,
    openRate: rate,
    clickRate: rate,
    mirrorPage: z.boolean(),
    seed: z.number().int(),
  })
  .partial()
  .strict();

const burstSchema = z
  .object({
    count: z.number().int().positive().max(5_000_000),
    profiles: z.array(z.string()).optional(),
    mix: z
      .object({
        send: z.number().min(0),
        open: z.number().min(0),
        click: z.number().min(0),
        bounce: z.number().min(0),
      })
      .partial()
      .strict()
      .optional(),
    campaign: campaignRefSchema.optional(),
    delivery: campaignRefSchema.optional(),
    seed: z.number().int().optional(),
  })
  .strict();

const journalSettingsSchema = z
  .object({
    retentionMs: z.number().int().positive(),
    emptyRetryAfterSec: z.number().int().nonnegative(),
    defaultBatchSize: z.number().int().positive(),
    maxBatchSize: z.number().int().positive(),
  })
  .partial()
  .strict();

/**
 * `/_emulator/…`, shaped like the Dynamics emulator's admin API (health, stats, reset, faults,
 * clock, tokens, limits, settings) plus Campaign specifics: seeding profiles, records with hidden
 * ones, operator edits, privacy requests and jobs, and the SFTP export workflow. Open to loopback
 * callers when no admin key is set; with a key every call needs `x-emulator-admin-key`.
 */
export function registerCampaignAdminRoutes(
  app: FastifyInstance,
  admin: CampaignEmulatorAdmin,
  adminKey: string | undefined,
): void {
  const guard = (request: FastifyRequest): void => {
    const refusal = adminRefusal(request, adminKey);
    if (refusal) throw new AdminError(refusal.status, refusal.code, refusal.message);
  };
  const route = (
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    handler: (request: FastifyRequest<{ Params: Record<string, string> }>) => unknown,
  ): void => {
    app.route<{ Params: Record<string, string> }>({
      method,
      url: `/_emulator${url}`,
      handler: async (request, reply) => {
        try {
          guard(request);
          const result: unknown = await handler(request);
          return reply.code(result === undefined ? 204 : 200).send(result);
        } catch (error) {
          if (error instanceof AdminError)
            return reply.code(error.status).send({ error: { code: error.code, message: error.message } });
          if (error instanceof Error)
            return reply.code(400).send({ error: { code: 'EMULATOR_BAD_REQUEST', message: error.message } });
          throw error;
        }
      },
    });
  };
  const param = (request: FastifyRequest<{ Params: Record<string, string> }>, name: string) =>
    request.params[name] ?? '';
  const sftp = () => {
    if (!admin.sftp)
      throw new AdminError(
        409,
        'EMULATOR_NO_SFTP',
        'The SFTP server is not running (start the emulator with an SFTP port).',
      );
    return admin.sftp;
  };

  route('GET', '/health', () => ({ ok: true }));
  route('GET', '/stats', () => admin.stats());
  route('DELETE', '/stats', () => admin.resetStats());
  route('POST', '/reset', (r) => {
    admin.reset(definedOnly(parse(z.object({ reseed: z.boolean() }).partial().strict(), r.body)));
    return admin.countRecords('profile');
  });
  route('POST', '/seed', (r) => ({ pkeys: admin.seedProfiles(definedOnly(parse(seedSchema, r.body))) }));

  route('GET', '/faults', () => admin.faults());
  route('PUT', '/faults', (r) => admin.setFaults(definedOnly(parse(faultSettingsSchema, r.body))));
  route('DELETE', '/faults', () => admin.clearFaults());

  route('GET', '/clock', () => admin.clock.state());
  route('POST', '/clock', (r) => {
    const body = parse(
      z
        .object({
          advanceMs: z.number().nonnegative(),
          freeze: z.union([z.boolean(), z.number()]),
          unfreeze: z.boolean(),
        })
        .partial()
        .strict(),
      r.body,
    );
    if (body.freeze !== undefined && body.freeze !== false)
      admin.clock.freeze(body.freeze === true ? undefined : body.freeze);
    if (body.advanceMs !== undefined) admin.advanceClock(body.advanceMs);
    if (body.unfreeze) admin.clock.unfreeze();
    return admin.clock.state();
  });

  route('POST', '/tokens/revoke', () => ({ revoked: admin.revokeTokens() }));
  route('POST', '/tokens/expire', () => ({ expired: admin.expireTokens() }));
  route('GET', '/limits', () => admin.limits());
  route('PUT', '/limits', (r) => admin.setLimits(definedOnly(parse(limitsSchema, r.body))));
  route('GET', '/settings', () => admin.settings());
  route('PUT', '/settings', (r) => admin.configure(definedOnly(parse(settingsSchema, r.body))));

  route('GET', '/records/:resource', (r) =>
    admin.listRecords(param(r, 'resource'), {
      includeHidden: (r.query as Record<string, string>).includeHidden === 'true',
    }),
  );
  route('GET', '/records/:resource/count', (r) => admin.countRecords(param(r, 'resource')));
  route('POST', '/records/:resource', (r) => ({
    PKey: admin.insertRecord(param(r, 'resource'), parse(recordBody, r.body)),
  }));
  route('GET', '/records/:resource/:ref', (r) => {
    const record = admin.getRecord(param(r, 'resource'), param(r, 'ref'));
    if (!record) throw new AdminError(404, 'EMULATOR_NOT_FOUND', 'No such record.');
    return record;
  });
  route('POST', '/profiles/:ref/operator-edit', (r) =>
    admin.editProfileAsOperator(param(r, 'ref'), parse(recordBody, r.body)),
  );

  route('GET', '/privacy/requests', () => admin.privacyRequests());
  route('GET', '/privacy/jobs', () =>
    admin.privacyJobs().map(({ campaignRequests, ...job }) => ({
      ...job,
      campaignRequests: campaignRequests.map((c) => c.pkey),
    })),
  );
  route('POST', '/privacy/fail-next', (r) =>
    admin.failNextPrivacyJobs(
      parse(z.object({ count: z.number().int().nonnegative() }).strict(), r.body).count,
    ),
  );

  route('GET', '/workflows', () => admin.workflows.list());
  route('POST', '/workflows', (r) => admin.defineWorkflow(parse(workflowDefinitionSchema, r.body)));
  route('GET', '/workflows/:id', (r) => {
    const view = admin.workflows.get(param(r, 'id'));
    if (!view) throw new AdminError(404, 'EMULATOR_NOT_FOUND', `No workflow ${param(r, 'id')}.`);
    return view;
  });
  route('GET', '/workflows/:id/imports', (r) => {
    if (!admin.workflows.get(param(r, 'id')))
      throw new AdminError(404, 'EMULATOR_NOT_FOUND', `No workflow ${param(r, 'id')}.`);
    return admin.workflows.history(param(r, 'id'));
  });
  route('POST', '/journal/deliveries', (r) => admin.sendDelivery(definedOnly(parse(deliverySchema, r.body))));
  route('POST', '/journal/burst', (r) => admin.burstEvents(parse(burstSchema, r.body)));
  route('GET', '/journal', () => admin.journalStatus());
  route('DELETE', '/journal', () => admin.clearJournal());
  route('PUT', '/journal/settings', (r) =>
    admin.configureJournal(definedOnly(parse(journalSettingsSchema, r.body))),
  );

  route('GET', '/sftp/workflow', () => sftp().status());
  route('PUT', '/sftp/workflow', (r) => sftp().configure(definedOnly(parse(workflowSettingsSchema, r.body))));
  route('POST', '/sftp/workflow/run', () => sftp().runNow());
  route('POST', '/sftp/workflow/stop', () => sftp().stop());
  route('POST', '/sftp/workflow/start', () => sftp().start());
  route('PUT', '/sftp/workflow/slow-write', (r) =>
    sftp().setSlowWrite(parse(z.object({ slowWrite: slowWriteSchema }).strict(), r.body).slowWrite),
  );
  route('POST', '/sftp/workflow/malformed-rows', (r) =>
    sftp().injectMalformedRows(
      parse(z.object({ kinds: z.array(z.enum(malformedRowKinds)) }).strict(), r.body).kinds,
    ),
  );
  route('GET', '/sftp/usage', () => sftp().usage());
  route('POST', '/sftp/disconnect', () => sftp().disconnectAll());
}

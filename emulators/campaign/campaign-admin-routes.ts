import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { CampaignEmulatorAdmin } from './campaign-emulator-admin.js';
import type { CampaignSftpControls } from './campaign-sftp-adapter.js';
import { malformedRowKinds } from './sftp/opt-out-export-format.js';
import { noChangeBehaviours } from './sftp/opt-out-export-workflow.js';

const faultSchema = z
  .object({
    latencyMs: z.number().nonnegative(),
    latencyJitterMs: z.number().nonnegative(),
    errorRate: z.number().min(0).max(1),
    errorStatus: z.number().int().min(500).max(599),
    errorNext: z.number().int().nonnegative(),
    dropRate: z.number().min(0).max(1),
    dropNext: z.number().int().nonnegative(),
    hangRate: z.number().min(0).max(1),
    hangNext: z.number().int().nonnegative(),
    pathPattern: z.string(),
  })
  .partial()
  .strict();

const loadSchema = z
  .object({
    callsPerSecond: z.number().positive().nullable(),
    retryAfterSec: z.number().int().nonnegative().nullable(),
  })
  .partial()
  .strict();

const clockSchema = z
  .object({
    advanceMs: z.number().nonnegative(),
    freezeAt: z.union([z.number(), z.string()]),
    freeze: z.boolean(),
    unfreeze: z.boolean(),
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
  })
  .partial()
  .strict();

const malformedSchema = z.object({ kinds: z.array(z.enum(malformedRowKinds)) }).strict();

/**
 * `/_emulator/…`: the admin API, shaped like the Dynamics emulator's (seed, reset, faults, clock,
 * stats) plus Campaign specifics (operator edits, records with hidden ones, privacy, SFTP workflow).
 * Every route calls a method of {@link CampaignEmulatorAdmin}.
 */
export function registerCampaignAdminRoutes(app: FastifyInstance, admin: CampaignEmulatorAdmin): void {
  const bad = (reply: FastifyReply, error: unknown) =>
    reply.status(400).send({
      error: { code: 'ADMIN_BAD_REQUEST', message: error instanceof Error ? error.message : String(error) },
    });
  const guard =
    <T>(
      fn: (body: T, params: Record<string, string>, query: Record<string, string>) => unknown,
      schema?: z.ZodType<T>,
    ) =>
    async (request: { body: unknown; params: unknown; query: unknown }, reply: FastifyReply) => {
      try {
        const body = schema ? schema.parse(request.body ?? {}) : (request.body as T);
        const result = await fn(
          body,
          request.params as Record<string, string>,
          request.query as Record<string, string>,
        );
        return reply.status(200).send(result ?? { ok: true });
      } catch (error) {
        return bad(reply, error);
      }
    };

  app.get('/_emulator/health', () => Promise.resolve({ ok: true }));
  app.post(
    '/_emulator/reset',
    guard(
      (body: { reseed?: boolean | undefined }) => admin.reset(body),
      z.object({ reseed: z.boolean() }).partial().strict(),
    ),
  );
  app.post(
    '/_emulator/seed',
    guard((body) => ({ pkeys: admin.seedProfiles(body) }), seedSchema),
  );

  app.get('/_emulator/faults', () => Promise.resolve(admin.faults()));
  app.put(
    '/_emulator/faults',
    guard((body) => admin.setFaults(body as Parameters<typeof admin.setFaults>[0]), faultSchema),
  );
  app.delete(
    '/_emulator/faults',
    guard(() => admin.clearFaults()),
  );

  app.get('/_emulator/clock', () => Promise.resolve(admin.clock.state()));
  app.post(
    '/_emulator/clock',
    guard((body) => {
      if (body.unfreeze) admin.clock.unfreeze();
      if (body.freezeAt !== undefined)
        admin.clock.freeze(typeof body.freezeAt === 'string' ? Date.parse(body.freezeAt) : body.freezeAt);
      else if (body.freeze) admin.clock.freeze();
      if (body.advanceMs !== undefined) admin.advanceClock(body.advanceMs);
      return admin.clock.state();
    }, clockSchema),
  );

  app.get('/_emulator/stats', () => Promise.resolve(admin.stats()));
  app.delete(
    '/_emulator/stats',
    guard(() => admin.resetStats()),
  );
  app.get('/_emulator/load', () => Promise.resolve(admin.load()));
  app.put(
    '/_emulator/load',
    guard((body) => admin.setLoad(body as Parameters<typeof admin.setLoad>[0]), loadSchema),
  );

  app.post(
    '/_emulator/tokens/revoke',
    guard(() => ({ revoked: admin.revokeTokens() })),
  );
  app.post(
    '/_emulator/tokens/expire',
    guard(() => ({ expired: admin.expireTokens() })),
  );

  app.get(
    '/_emulator/records/:resource',
    guard((_b, params, query) =>
      admin.listRecords(params.resource!, { includeHidden: query.includeHidden === 'true' }),
    ),
  );
  app.get(
    '/_emulator/records/:resource/_count',
    guard((_b, params) => admin.countRecords(params.resource!)),
  );
  app.post(
    '/_emulator/records/:resource',
    guard((body: Record<string, unknown>, params) => ({ PKey: admin.insertRecord(params.resource!, body) })),
  );
  app.get(
    '/_emulator/records/:resource/:ref',
    guard(
      (_b, params) =>
        admin.getRecord(params.resource!, params.ref!) ??
        Promise.reject(new Error(`no ${params.resource} ${params.ref}`)),
    ),
  );
  app.post(
    '/_emulator/profiles/:ref/operator-edit',
    guard(
      (body: Record<string, unknown>, params) => admin.editProfileAsOperator(params.ref!, body),
      z.record(z.string(), z.unknown()),
    ),
  );

  app.get('/_emulator/privacy/requests', () => Promise.resolve(admin.privacyRequests()));
  app.get('/_emulator/privacy/jobs', () =>
    Promise.resolve(
      admin.privacyJobs().map(({ campaignRequests, ...job }) => ({
        ...job,
        campaignRequests: campaignRequests.map((r) => r.pkey),
      })),
    ),
  );
  app.post(
    '/_emulator/privacy/fail-next',
    guard(
      (body: { count: number }) => admin.failNextPrivacyJobs(body.count),
      z.object({ count: z.number().int().nonnegative() }).strict(),
    ),
  );

  const sftp = () => {
    if (!admin.sftp) throw new Error('the SFTP server is not running (start the emulator with an SFTP port)');
    return admin.sftp;
  };
  app.post(
    '/_emulator/sftp/workflow/run',
    guard(async () => sftp().runNow()),
  );
  app.post(
    '/_emulator/sftp/workflow/stop',
    guard(async () => sftp().stop()),
  );
  app.post(
    '/_emulator/sftp/workflow/start',
    guard(() => sftp().start()),
  );
  app.put(
    '/_emulator/sftp/workflow/slow-write',
    guard((body) => sftp().setSlowWrite(body), slowWriteSchema),
  );
  app.put(
    '/_emulator/sftp/workflow',
    guard(
      (body) => sftp().configure(body as Parameters<CampaignSftpControls['configure']>[0]),
      workflowSettingsSchema,
    ),
  );
  app.post(
    '/_emulator/sftp/workflow/malformed-rows',
    guard((body) => sftp().injectMalformedRows(body.kinds), malformedSchema),
  );
  app.get(
    '/_emulator/sftp/workflow',
    guard(() => sftp().status()),
  );
  app.get(
    '/_emulator/sftp/usage',
    guard(async () => sftp().usage()),
  );
  app.post(
    '/_emulator/sftp/disconnect',
    guard(() => sftp().disconnectAll()),
  );
}

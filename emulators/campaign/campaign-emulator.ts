import { createHash } from 'node:crypto';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import { EmulatorClock } from '../shared/emulator-clock.js';
import { FaultInjector } from '../shared/fault-injector.js';
import { generateTlsMaterial } from '../shared/tls-certificate.js';
import { registerCampaignAdminRoutes } from './campaign-admin-routes.js';
import { registerCampaignApiRoutes } from './campaign-api-routes.js';
import { CampaignEmulatorAdmin } from './campaign-emulator-admin.js';
import {
  defaultBehaviourSettings,
  type CampaignBehaviourSettings,
  type CampaignEmulatorContext,
} from './campaign-emulator-context.js';
import { CampaignLoadModel } from './campaign-load-model.js';
import { CampaignPKeyCodec } from './campaign-pkey-codec.js';
import {
  CampaignPrivacyTool,
  defaultPrivacyNamespaces,
  defaultPrivacyToolTiming,
  type PrivacyNamespace,
  type PrivacyToolTiming,
} from './campaign-privacy-tool.js';
import { CampaignProfileGenerator } from './campaign-profile-generator.js';
import { CampaignRecordStore } from './campaign-record-store.js';
import { optOutExportWorkflowId } from './campaign-workflow-execution.js';
import { CampaignWorkflows } from './campaign-workflows.js';
import { loadCampaignSeedFile, resolveCampaignSeed, type CampaignSeedInput } from './campaign-seed-file.js';
import {
  startCampaignSftp,
  type CampaignSftpOptions,
  type CampaignSftpInfo,
} from './campaign-sftp-adapter.js';
import { registerImsTokenRoutes } from './ims-token-routes.js';
import { CampaignEmailEventGenerator } from './journal/campaign-email-event-generator.js';
import { CampaignEventJournal, type JournalSettings } from './journal/campaign-event-journal.js';
import { registerJournalRoutes, type JournalLocation } from './journal/journal-routes.js';
import { ImsTokenIssuer } from './ims-token-issuer.js';
import {
  defaultPrivacyServiceTiming,
  PrivacyServiceEmulator,
  type PrivacyServiceTiming,
} from './privacy-service-emulator.js';
import { registerPrivacyServiceRoutes } from './privacy-service-routes.js';

/** Options of {@link startCampaignEmulator}; every one has a default. */
export interface CampaignEmulatorOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string;
  /** The Campaign organization (tenant) in URLs. @default 'demo-org' */
  org?: string;
  /** IMS organization id the Privacy Service expects. @default 'DEMO0000000000000000000@AdobeOrg' */
  imsOrgId?: string;
  /** OAuth Server-to-Server client id (also the `X-Api-Key`). @default 'demo-client' */
  clientId?: string;
  /** @default 'demo-secret' */
  clientSecret?: string;
  /** Seed of generated data, PKeys and fault patterns. @default 1 */
  seed?: number;
  /** Seed file path (YAML/JSON) or its parsed content: custom resources, profile key, initial data. */
  seedFile?: string | CampaignSeedInput;
  /** Generated foreign profiles (no externalId) added at start. @default 0 */
  profiles?: number;
  /** Delivery/tracking log entries given to each seeded profile. @default 2 */
  logsPerProfile?: number;
  /** Server certificate and key (PEM); generated with a throw-away CA when absent. */
  tls?: { cert: string; key: string; caCert?: string };
  /** Serve plain HTTP instead of HTTPS. @default false */
  insecureHttp?: boolean;
  /** IMS `expires_in`. @default 86399 */
  tokenLifetimeSec?: number;
  /** Throttle above this many calls per second (sliding window) with 429. @default null (off, as the real service) */
  callsPerSecond?: number | null;
  /** `Retry-After` seconds on 429. @default null (no header) */
  retryAfterSec?: number | null;
  /** Behaviour choices where the facts are silent (see README). */
  behaviour?: Partial<CampaignBehaviourSettings>;
  privacyToolTiming?: Partial<PrivacyToolTiming>;
  privacyServiceTiming?: Partial<PrivacyServiceTiming>;
  privacyNamespaces?: readonly PrivacyNamespace[];
  /** Emulated time; shared with the SFTP workflow. @default a new EmulatorClock */
  clock?: EmulatorClock;
  /** Require this key (header `x-emulator-admin-key`) on `/_emulator/`; without it, loopback only. */
  adminKey?: string;
  /** Start the SFTP server (and its export workflow) on this port; 0 picks one. @default not started */
  sftpPort?: number;
  /** Options passed to the SFTP server and workflow. */
  sftp?: CampaignSftpOptions;
  /** The Adobe I/O Events journal of e-mail events: retention, empty Retry-After, batch sizes. */
  journal?: Partial<JournalSettings>;
}

/** A running emulator. */
export interface CampaignEmulator {
  /** What config `campaign.url` holds: `https://127.0.0.1:PORT/<org>`. */
  url: string;
  /** IMS base: the token endpoint is `${imsUrl}/ims/token/v3`. */
  imsUrl: string;
  /** Privacy Service base: jobs at `${privacyServiceUrl}/jobs`. */
  privacyServiceUrl: string;
  /** Admin API base (`…/_emulator`). */
  adminUrl: string;
  /** Adobe I/O Events journaling endpoint of the registration receiving Campaign's e-mail events. */
  journalUrl: string;
  /** PEM of the CA clients must trust; null over plain HTTP. */
  caCert: string | null;
  org: string;
  imsOrgId: string;
  clientId: string;
  sftp?: CampaignSftpInfo;
  admin: CampaignEmulatorAdmin;
  close(): Promise<void>;
}

/** Start the Campaign Standard + IMS + Privacy Service emulator (and optionally its SFTP server). */
export async function startCampaignEmulator(
  options: CampaignEmulatorOptions = {},
): Promise<CampaignEmulator> {
  const org = options.org ?? 'demo-org';
  const imsOrgId = options.imsOrgId ?? 'DEMO0000000000000000000@AdobeOrg';
  const clientId = options.clientId ?? 'demo-client';
  const seed = options.seed ?? 1;
  const clock = options.clock ?? new EmulatorClock();
  const now = () => clock.now();
  const seedInput =
    typeof options.seedFile === 'string' ? loadCampaignSeedFile(options.seedFile) : options.seedFile;
  const resolved = resolveCampaignSeed(seedInput);
  const codec = new CampaignPKeyCodec(`${org}:${seed}`);
  const store = new CampaignRecordStore(resolved.resources, codec, now);
  const privacyTool = new CampaignPrivacyTool(
    store,
    codec,
    now,
    { ...defaultPrivacyToolTiming, ...options.privacyToolTiming },
    options.privacyNamespaces ?? defaultPrivacyNamespaces,
  );
  const privacyService = new PrivacyServiceEmulator(imsOrgId, privacyTool, now, {
    ...defaultPrivacyServiceTiming,
    ...options.privacyServiceTiming,
  });
  const behaviour = { ...defaultBehaviourSettings, ...options.behaviour };
  const workflows = new CampaignWorkflows({
    clock,
    codec,
    store,
    behaviour,
    reservedIds: [optOutExportWorkflowId],
  });
  // One event registration; its ids are fixed per org so a journal URL survives restarts.
  const journalLocation: JournalLocation = {
    path: `/events/organizations/${encodeURIComponent(org)}/integrations/campaign/${registrationIdOf(org)}`,
    source: `urn:uuid:${registrationIdOf(`${org}:provider`)}`,
  };
  const journal = new CampaignEventJournal(clock, `acs-${seed}`, options.journal ?? {});
  const context: CampaignEmulatorContext = {
    org,
    imsOrgId,
    clock,
    codec,
    store,
    tokens: new ImsTokenIssuer(
      {
        clientId,
        clientSecret: options.clientSecret ?? 'demo-secret',
        lifetimeSec: options.tokenLifetimeSec ?? 86399,
      },
      now,
    ),
    load: new CampaignLoadModel(
      { callsPerSecond: options.callsPerSecond ?? null, retryAfterSec: options.retryAfterSec ?? null },
      () => Date.now(),
      now,
    ),
    faults: new FaultInjector(seed),
    privacyTool,
    privacyService,
    behaviour,
    workflows,
    journal,
    emailEvents: new CampaignEmailEventGenerator(`https://${org}.campaign.adobe.com`),
    tick: () => {
      // Jobs create back-dated Campaign requests, which may complete at once; look again after.
      privacyService.advance();
      privacyTool.advance();
      privacyService.advance();
      workflows.tick();
    },
  };
  const generator = new CampaignProfileGenerator(seed);
  const logsPerProfile = options.logsPerProfile ?? 2;
  const applySeed = () => {
    admin.seedProfiles({
      foreign: (options.profiles ?? 0) + resolved.profiles.foreign,
      externalIds: resolved.profiles.externalIds,
      records: resolved.profiles.records,
    });
    for (const definition of resolved.resources) {
      for (const payload of resolved.records[definition.name] ?? [])
        admin.insertRecord(definition.name, payload);
    }
  };
  const declareWorkflows = () => {
    for (const workflow of resolved.workflows) workflows.define(workflow);
  };
  const admin: CampaignEmulatorAdmin = new CampaignEmulatorAdmin(
    context,
    generator,
    logsPerProfile,
    applySeed,
    declareWorkflows,
  );
  applySeed();
  declareWorkflows();

  const tls = options.insecureHttp ? null : (options.tls ?? (await generateTlsMaterial(['localhost'])));
  const app = buildServer(context, admin, tls, options.adminKey);
  registerJournalRoutes(app, context, journal, journalLocation);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port ?? 0, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const origin = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const ticker = setInterval(() => context.tick(), 1000);
  ticker.unref();

  let sftp: Awaited<ReturnType<typeof startCampaignSftp>> | null = null;
  if (options.sftpPort !== undefined) {
    try {
      sftp = await startCampaignSftp(
        { ...options.sftp, port: options.sftpPort, host },
        admin.optOutExportSource,
        clock,
      );
    } catch (error) {
      clearInterval(ticker);
      await app.close();
      throw error;
    }
    admin.sftp = sftp.controls;
    workflows.storage = sftp.storage;
  }

  const emulator: CampaignEmulator = {
    url: `${origin}/${org}`,
    imsUrl: origin,
    privacyServiceUrl: `${origin}/data/core/privacy`,
    adminUrl: `${origin}/_emulator`,
    journalUrl: `${origin}${journalLocation.path}`,
    caCert: tls && 'caCert' in tls ? (tls.caCert ?? null) : null,
    org,
    imsOrgId,
    clientId,
    admin,
    close: async () => {
      clearInterval(ticker);
      await sftp?.close();
      await app.close();
    },
  };
  if (sftp) emulator.sftp = sftp.info;
  return emulator;
}

function buildServer(
  context: CampaignEmulatorContext,
  admin: CampaignEmulatorAdmin,
  tls: { cert: string; key: string } | null,
  adminKey: string | undefined,
): FastifyInstance {
  const app = (tls
    ? Fastify({
        https: { cert: tls.cert, key: tls.key },
        forceCloseConnections: true,
        bodyLimit: 16 * 1024 * 1024,
      })
    : Fastify({ forceCloseConnections: true, bodyLimit: 16 * 1024 * 1024 })) as unknown as FastifyInstance;
  app.removeContentTypeParser('application/json');
  // Campaign accepts `application/json;charset=utf-8` and empty bodies (DELETE, PATCH without body).
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      const error = Object.assign(new Error('the request body is not valid JSON'), { statusCode: 400 });
      done(error, undefined);
    }
  });
  // Any other content type (Adobe's SDK sends JSON as `text/plain;charset=UTF-8`, node-fetch's
  // default for a string body) reaches the routes as text; the Campaign API reads it as JSON.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    done(null, typeof body === 'string' ? body : body.toString('utf8'));
  });
  app.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith('/_emulator')) return;
    const decision = context.faults.decide(request.url.split('?')[0] ?? '');
    if (decision.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, decision.delayMs));
    if (decision.kind === 'drop') {
      context.load.recordFault('drops');
      reply.hijack();
      request.raw.socket.destroy();
      return reply;
    }
    if (decision.kind === 'hang') {
      context.load.recordFault('hangs');
      // Never answer; the socket closes when the client gives up or the emulator stops.
      reply.hijack();
      return reply;
    }
    if (decision.kind === 'error') {
      context.load.recordFault('errors');
      return reply
        .status(decision.status)
        .header('content-type', 'application/json;charset=utf-8')
        .send(JSON.stringify({ code: decision.status, message: 'Service Unavailable (injected fault)' }));
    }
    return undefined;
  });
  // Form bodies are parsed for the IMS token endpoint only; a Campaign API call whose JSON body is
  // labelled form-encoded reaches its route as text like any other non-JSON content type.
  void app.register(async (ims) => {
    await ims.register(formbody);
    registerImsTokenRoutes(ims, context);
  });
  registerPrivacyServiceRoutes(app, context);
  registerCampaignApiRoutes(app, context, () => admin.sftp);
  registerCampaignAdminRoutes(app, admin, adminKey);
  return app;
}

/** A stable UUID-shaped id for a name (the registration and provider ids of the journal). */
function registrationIdOf(name: string): string {
  const hex = createHash('sha1').update(`journal:${name}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

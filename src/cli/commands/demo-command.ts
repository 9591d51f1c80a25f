import { randomBytes } from 'node:crypto';
import { chmodSync, createWriteStream, mkdirSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
import {
  startDynamicsEmulator,
  type DynamicsEmulator,
} from '../../../emulators/dynamics/dynamics-emulator.js';
import {
  startCampaignEmulator,
  type CampaignEmulator,
} from '../../../emulators/campaign/campaign-emulator.js';
import type { CampaignSeedInput } from '../../../emulators/campaign/campaign-seed-file.js';
import {
  emailActivityTable,
  emailActivityTypes,
} from '../../../emulators/dynamics/schema/email-activity-tables.js';
import { parseSeedFile } from '../../../emulators/dynamics/schema/seed-file.js';
import type { CliContext } from '../cli-context.js';
import { exitCodes } from '../exit-codes.js';
import { nonNegativeInt, portNumber, positiveInt } from '../option-parsers.js';
import { loadConfigForCommand } from '../runtime/load-config-for-command.js';
import { openSyncRuntime, type SyncRuntime } from '../runtime/sync-runtime.js';
import { createSyncService, type SyncService } from '../runtime/start-service.js';

export interface DemoOptions {
  port: number;
  dataDir: string;
  contacts: number;
  seed: number;
  untilIdle?: boolean;
  trickle: boolean;
  /** Changes per second of the live trickle. */
  rate: number;
}

const demoClient = { id: 'demo-client', secret: 'demo-secret' };

/** A custom table in Dataverse: memberships looking up contacts (a fifth of contacts have one). */
const demoDynamicsSeed = parseSeedFile(
  JSON.stringify({
    tables: [
      {
        logicalName: 'new_membership',
        entitySetName: 'new_memberships',
        columns: [
          {
            name: 'new_level',
            type: 'picklist',
            options: [
              { value: 1, label: 'Bronze' },
              { value: 2, label: 'Silver' },
              { value: 3, label: 'Gold' },
            ],
          },
          { name: 'new_since', type: 'dateonly' },
          {
            name: 'new_contactid',
            type: 'lookup',
            target: 'contact',
            navigationProperty: 'new_ContactId',
            onDelete: 'cascade',
          },
        ],
        generate: { perParent: 0.2 },
      },
      // Flow F6: the custom activity tables docs/email-events.md tells an operator to create.
      ...emailActivityTypes.map(emailActivityTable),
    ],
  }),
  'demo seed',
);

/** The e-mail event activity tables of the demo (flow F6), whose rows the dashboard counts. */
export const demoActivityTables = emailActivityTypes.map((type) => emailActivityTable(type).logicalName);

/** A delivery of the demo's Campaign to some profiles: opens, clicks and a few hard bounces. */
function demoDelivery(campaign: CampaignEmulator, pkeys: readonly string[], n: number): void {
  // Campaign (and its emulator) leaves out the profiles that have no e-mail address.
  if (pkeys.length === 0) return;
  campaign.admin.sendDelivery({
    profiles: pkeys,
    openRate: 0.6,
    clickRate: 0.4,
    bounceRate: 0.05,
    hardBounceShare: 1,
    campaign: { id: 'OP-DEMO', label: 'Spring sale' },
    delivery: { id: `DM-DEMO-${n}`, label: `Newsletter ${n}` },
    seed: n,
  });
}

/** Its Campaign custom resource, linked to the profile (cardinality 1, cascade delete). */
const demoCampaignSeed: CampaignSeedInput = {
  resources: [
    {
      name: 'cusMembership',
      label: 'Memberships',
      keyField: 'crmId',
      fields: [
        { name: 'crmId', type: 'string', length: 36 },
        { name: 'level', type: 'string', length: 20 },
        { name: 'since', type: 'date' },
      ],
      links: [{ name: 'profile', target: 'profile', cardinality: '1', onDelete: 'cascade' }],
    },
  ],
};

/** Environment variable whose JSON object replaces keys of the demo's `health` section. */
export const demoHealthVariable = 'DCSYNC_DEMO_HEALTH';

/**
 * The demo's `health` section from {@link demoHealthVariable} (e.g. `{"checkIntervalMs":500}` to
 * watch a Campaign storm come and go in seconds); none (the production defaults) when unset. The
 * keys are validated with the rest of the generated configuration.
 */
export function demoHealthSettings(env: NodeJS.ProcessEnv): Record<string, unknown> | undefined {
  const raw = env[demoHealthVariable];
  if (raw === undefined || raw.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const settings = z.record(z.string(), z.unknown()).safeParse(parsed);
  if (!settings.success || Array.isArray(parsed))
    throw new ConfigError(
      `${demoHealthVariable} must be a JSON object of health settings, e.g. {"checkIntervalMs":500} (docs/configuration.md, health)`,
    );
  return settings.data;
}

function writeSecret(dir: string, name: string, value: string): string {
  const path = join(dir, name);
  writeFileSync(path, value, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/** The demo's configuration: a real config file, as an operator would write one. */
function demoConfig(
  dir: string,
  dynamics: DynamicsEmulator,
  campaign: CampaignEmulator,
  port: number,
  health: Record<string, unknown> | undefined,
): string {
  const secrets = join(dir, 'secrets');
  mkdirSync(secrets, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'dynamics-ca.pem'), dynamics.caCert ?? '');
  writeFileSync(join(dir, 'campaign-ca.pem'), campaign.caCert ?? '');
  const config = {
    dynamics: {
      url: dynamics.url,
      authorityHost: dynamics.authorityHost,
      tenantId: 'demo-tenant',
      clientId: demoClient.id,
      clientSecret: `file:${writeSecret(secrets, 'dynamics-client-secret', demoClient.secret)}`,
      caFile: join(dir, 'dynamics-ca.pem'),
    },
    campaign: {
      url: campaign.url,
      imsUrl: campaign.imsUrl,
      clientId: demoClient.id,
      clientSecret: `file:${writeSecret(secrets, 'campaign-client-secret', demoClient.secret)}`,
      caFile: join(dir, 'campaign-ca.pem'),
      budget: { callsPerSecond: 800, callsPerDay: 5_000_000 },
      ...(campaign.sftp
        ? {
            sftp: {
              host: campaign.sftp.host,
              port: campaign.sftp.port,
              username: campaign.sftp.username,
              password: `file:${writeSecret(secrets, 'campaign-sftp-password', 'demo-sftp-password')}`,
              hostKeySha256: campaign.sftp.hostKeySha256,
              exportDir: campaign.sftp.exportDir,
              quotaBytes: 50 * 1024 * 1024,
            },
          }
        : {}),
    },
    store: { url: `sqlite:${join(dir, 'state.db')}` },
    engine: { workers: 16, pollIntervalMs: 2000 },
    flows: {
      contacts: {
        deletes: true,
        mapping: {
          firstname: 'firstName',
          lastname: 'lastName',
          emailaddress1: 'email',
          mobilephone: 'mobilePhone',
          birthdate: 'birthDate',
        },
      },
      customTables: [
        {
          table: 'new_membership',
          resource: 'cusMembership',
          keyColumn: 'crmId',
          deletes: true,
          personalData: true,
          mapping: { new_level: 'level', new_since: 'since' },
          links: [{ lookup: 'new_contactid', link: 'profile', target: 'profile' }],
        },
      ],
      optOut: {
        // Both ways: contact changes carry opt-outs to Campaign, Campaign's daily export file (on
        // the emulator's SFTP server) carries them back; conflicts follow the timestamp rule.
        mode: campaign.sftp ? 'bidirectional' : 'dynamics-to-campaign',
        mapping: { donotemail: 'blackListEmail', donotbulkemail: 'blackList' },
        file: { pollIntervalMs: 10_000 },
      },
      // Campaign's e-mail events (F6) on the contacts' timelines in Dynamics.
      emailEvents: {
        enabled: true,
        journal: { url: campaign.journalUrl, imsOrgId: campaign.imsOrgId },
        pollIntervalMs: 2000,
      },
    },
    privacy: {
      serviceUrl: campaign.privacyServiceUrl,
      imsOrgId: campaign.imsOrgId,
      pollIntervalMs: 2000,
    },
    server: { host: '127.0.0.1', port, adminToken: 'env:DCSYNC_ADMIN_TOKEN' },
    ...(health ? { health } : {}),
    logging: { level: process.env.DCSYNC_LOG_LEVEL ?? 'warn' },
  };
  const path = join(dir, 'sync.yaml');
  writeFileSync(
    path,
    `# Written by "dcsync demo": the emulators' addresses change on every run.\n${stringify(config, { lineWidth: 0 })}`,
  );
  return path;
}

/**
 * `dcsync demo`: both emulators with sample data (Campaign already holds foreign profiles and some
 * whose externalId matches a contact), the sync on SQLite, the operator server and a trickle of
 * live changes. Everything runs on embedded defaults; each run starts from scratch.
 */
export async function runDemo(options: DemoOptions, context: CliContext): Promise<number> {
  const health = demoHealthSettings(context.env);
  const dir = resolve(options.dataDir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const token = context.env.DCSYNC_ADMIN_TOKEN || randomBytes(18).toString('base64url');
  const generatedToken = !context.env.DCSYNC_ADMIN_TOKEN;
  const env = { ...context.env, DCSYNC_ADMIN_TOKEN: token };

  context.err.write(`Starting the Dataverse emulator with ${options.contacts} contacts…\n`);
  const dynamics = await startDynamicsEmulator({
    contacts: options.contacts,
    seed: options.seed,
    seedData: demoDynamicsSeed,
  });
  const contactIds = dynamics.admin.listIds('contact');
  const campaign = await startCampaignEmulator({
    seed: options.seed,
    profiles: 0,
    sftpPort: 0,
    seedFile: demoCampaignSeed,
    // The journal's empty answer asks for 2 s, not the documented example's 10 s: events show sooner.
    journal: { emptyRetryAfterSec: 2 },
  });
  // Campaign before the sync: foreign profiles, plus profiles that already carry a contact id.
  const matching = contactIds.filter((_, i) => i % 50 === 0);
  const audience = campaign.admin.seedProfiles({
    foreign: Math.max(10, Math.round(options.contacts / 50)),
    externalIds: matching,
  });
  // A delivery to that part of the sample audience: its opens, clicks and hard bounces become
  // activities on the contacts' timelines (F6); the foreign profiles' events are counted and skipped.
  demoDelivery(campaign, audience, 1);
  let deliveries = 1;

  let runtime: SyncRuntime | null = null;
  let service: SyncService | null = null;
  let trickle: NodeJS.Timeout | null = null;
  // The terminal is for people: the sync's JSON log lines go to a file the banner names.
  const logPath = join(dir, 'dcsync.log');
  const logFile: WriteStream = createWriteStream(logPath, { flags: 'a', mode: 0o600 });
  try {
    const configPath = demoConfig(dir, dynamics, campaign, options.port, health);
    const demoContext: CliContext = { ...context, env };
    const config = loadConfigForCommand(configPath, demoContext);
    runtime = await openSyncRuntime(config, context.redactor, { logDestination: logFile });
    service = await createSyncService(runtime, {
      progressStream: context.err,
      listen: { host: '127.0.0.1', port: options.port },
      env,
    });
    const { engine } = service;
    // The banner is for people: stderr, so that stdout carries only the JSON summary of --until-idle.
    context.err.write(
      demoBanner({ url: service.url ?? '', token, generatedToken, configPath, logPath, dynamics, campaign }),
    );
    if (options.untilIdle) {
      const summary = await engine.runUntilIdle();
      context.out.write(`${JSON.stringify(summary)}\n`);
      return exitCodes.ok;
    }
    await service.start();
    // The export workflow's first file, so the dashboard shows SFTP freshness from the start.
    await campaign.admin.sftp?.runNow().catch(() => undefined);
    if (options.trickle && options.rate > 0) {
      let tick = 0;
      trickle = setInterval(() => {
        tick++;
        const per = Math.max(1, Math.round(options.rate));
        dynamics.admin.mutate({
          updates: per,
          creates: tick % 5 === 0 ? 1 : 0,
          deletes: tick % 20 === 0 ? 1 : 0,
          seed: options.seed * 100_000 + tick,
        });
        if (tick % 3 === 0)
          dynamics.admin.mutate({
            table: 'new_membership',
            updates: 1,
            creates: tick % 9 === 0 ? 1 : 0,
            seed: options.seed * 100_000 + tick,
          });
        // Now and then an operator opts someone out in Campaign; the export workflow writes its
        // file to the SFTP server, and the sync carries the opt-out back to Dynamics.
        if (tick % 15 === 0 && campaign.admin.sftp) {
          const synced = campaign.admin.listRecords('profile').filter((p) => p.values.externalId);
          const pick = synced[tick % Math.max(1, synced.length)];
          if (pick) campaign.admin.editProfileAsOperator(pick.PKey, { blackListEmail: true });
        }
        if (tick % 30 === 0) void campaign.admin.sftp?.runNow().catch(() => undefined);
        // Now and then Campaign sends a delivery to a few synced profiles: new timeline activities.
        if (tick % 20 === 0) {
          const synced = campaign.admin
            .listRecords('profile')
            .filter((p) => p.values.externalId)
            .map((p) => p.PKey);
          const start = (tick * 7) % Math.max(1, synced.length);
          demoDelivery(campaign, synced.slice(start, start + 20), ++deliveries);
        }
        engine.wake();
      }, 1000);
      trickle.unref();
    }
    context.err.write('Live changes are trickling in. Press Ctrl+C to stop.\n');
    await new Promise<void>((resolveSignal) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolveSignal();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    context.err.write('Stopping…\n');
    return exitCodes.ok;
  } finally {
    if (trickle) clearInterval(trickle);
    await service?.stop();
    await runtime?.close();
    await Promise.allSettled([dynamics.close(), campaign.close()]);
    await new Promise<void>((done) => logFile.end(done));
  }
}

/** Shell-quote a value for the `export` line (the token is base64url, but a chosen one may not be). */
function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * What the demo serves, where its logs go, and how to point the CLI at it from a second terminal
 * (the demo's configuration reads the admin token from DCSYNC_ADMIN_TOKEN, so every command needs it).
 */
export function demoBanner(parts: {
  url: string;
  token: string;
  generatedToken: boolean;
  configPath: string;
  logPath: string;
  dynamics: { url: string };
  campaign: { url: string };
}): string {
  const exportLine = parts.generatedToken
    ? `  export DCSYNC_ADMIN_TOKEN=${shellQuote(parts.token)}`
    : '  export DCSYNC_ADMIN_TOKEN=…   (the value this shell already has)';
  return (
    [
      '',
      'dcsync demo is running.',
      `Dashboard: ${parts.url}/`,
      `API:       ${parts.url}/api/status`,
      `Metrics:   ${parts.url}/metrics`,
      `Admin token: ${parts.generatedToken ? parts.token : '(from DCSYNC_ADMIN_TOKEN)'}`,
      `Config:    ${parts.configPath}`,
      `Logs:      ${parts.logPath}`,
      `Dataverse emulator: ${parts.dynamics.url}   Campaign emulator: ${parts.campaign.url}`,
      '',
      'In a second terminal, point the CLI at this demo:',
      exportLine,
      `  npx dcsync status --config ${shellQuote(parts.configPath)}`,
      '',
    ].join('\n') + '\n'
  );
}

export function registerDemoCommand(program: Command, context: CliContext): void {
  program
    .command('demo')
    .description('start both emulators with sample data, run the sync and serve the dashboard')
    .option(
      '-p, --port <port>',
      'HTTP port of the dashboard and API (0 picks a free one)',
      portNumber('--port'),
      8080,
    )
    .option('--data-dir <dir>', 'where the demo keeps its state (wiped at start)', './data/demo')
    .option(
      '--contacts <n>',
      'contacts generated in the Dataverse emulator',
      positiveInt('--contacts', 1_000_000),
      10_000,
    )
    .option('--seed <n>', 'seed of the sample data', nonNegativeInt('--seed'), 1)
    .option('--rate <n>', 'live changes per second', nonNegativeInt('--rate', 10_000), 2)
    .option('--no-trickle', 'no live changes')
    .option('--until-idle', 'exit once the initial load is done; print a JSON summary')
    .action(async (options: DemoOptions) => {
      context.setExitCode(await runDemo(options, context));
    });
}

import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConfigShow } from '../../../src/cli/commands/config-command.js';
import { runValidate } from '../../../src/cli/commands/validate-command.js';
import type { CliContext } from '../../../src/cli/cli-context.js';
import { exitCodes } from '../../../src/cli/exit-codes.js';
import type { ConfigFinding } from '../../../src/config/config-finding.js';
import type { LiveCheck, LiveCheckResult } from '../../../src/config/live-check.js';
import { changeTrackingMessage } from '../../../src/core/ports/metadata.js';
import {
  startCampaignEmulator,
  type CampaignEmulator,
} from '../../../emulators/campaign/campaign-emulator.js';
import { defaultPrivacyNamespaces } from '../../../emulators/campaign/campaign-privacy-tool.js';
import {
  startDynamicsEmulator,
  type DynamicsEmulator,
} from '../../../emulators/dynamics/dynamics-emulator.js';
import { parseSeedFile } from '../../../emulators/dynamics/schema/seed-file.js';
import { activityTable, activityTablesSeed } from '../../support/email-event-fixtures.js';
import { testEnv } from '../../support/sync-test-bed.js';
import { OptOutTestBed } from '../opt-out/support/opt-out-test-bed.js';
import { Redactor } from '../../../src/logging/redactor.js';
import { buildTestEnv, minimalConfigYaml } from '../../unit/config/support/config-builders.js';
import { runCli } from './support/run-cli.js';

let dir: string;
let validFile: string;
let brokenFile: string;

const brokenYaml = minimalConfigYaml
  .replace('clientSecret: env:DYNAMICS_CLIENT_SECRET', 'clientSecret: literal-secret-value') // line 5
  .replace('  budget: { callsPerSecond: 20, callsPerDay: 500000 }', '  budget: { callsPerSecond: 20 }') // line 10
  .replace('  adminToken: env:DCSYNC_ADMIN_TOKEN', '  adminToken: env:DCSYNC_ADMIN_TOKEN\n  prot: 8080'); // line 16

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dcsync-validate-'));
  validFile = join(dir, 'valid.yaml');
  brokenFile = join(dir, 'broken.yaml');
  writeFileSync(validFile, minimalConfigYaml);
  writeFileSync(brokenFile, brokenYaml);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('dcsync validate (own process)', () => {
  it('exits 0 for a valid file', async () => {
    // The file names a real tenant this machine cannot reach: the live checks are skipped.
    const run = await runCli(['validate', '--config', validFile, '--offline'], buildTestEnv());
    expect(run.stderr).toBe('');
    expect(run.code).toBe(exitCodes.ok);
    expect(run.stdout).toBe(
      `${validFile}: valid (0 error(s), 0 warning(s), 0 note(s)); live checks: skipped (--offline)\n`,
    );
  });

  it('prints every mistake as file:line:col and exits 3', async () => {
    const run = await runCli(['validate', '--config', brokenFile, '--offline'], buildTestEnv());
    expect(run.code).toBe(exitCodes.config);
    expect(run.stdout.trim().split('\n')).toEqual([
      `${brokenFile}:5:3 error CONFIG_LITERAL_SECRET dynamics.clientSecret: literal secrets are not allowed; use env:NAME or file:/path`,
      `${brokenFile}:10:3 error CONFIG_MISSING_KEY campaign.budget.callsPerDay: is required`,
      `${brokenFile}:16:3 error CONFIG_UNKNOWN_KEY server.prot: unknown key "prot" (did you mean "port"?)`,
      `${brokenFile}: invalid (3 error(s), 0 warning(s), 0 note(s)); live checks: not run (the configuration has errors)`,
    ]);
  });

  it('exits 3 on a YAML alias bomb, naming the file and the line of the first alias', async () => {
    const bombFile = join(dir, 'bomb.yaml');
    const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let level = 1; level < 9; level++) {
      const previous = String.fromCharCode(96 + level);
      const name = String.fromCharCode(97 + level);
      laughs.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
    }
    writeFileSync(bombFile, `${minimalConfigYaml}${laughs.join('\n')}\n`);
    const aliasLine = minimalConfigYaml.split('\n').length + 1;
    const run = await runCli(['validate', '--config', bombFile, '--offline'], buildTestEnv());
    expect(run.stderr).toBe('');
    expect(run.code).toBe(exitCodes.config);
    expect(run.stdout.trim().split('\n')[0]).toBe(
      `${bombFile}:${aliasLine}:8 error CONFIG_YAML_ALIASES (root): YAML aliases expand too far (72 aliases; one alias may stand for at most 100 nodes): write the values out instead of nesting aliases`,
    );
  });

  it('prints the findings and live checks as JSON with --json', async () => {
    const run = await runCli(['validate', '--config', brokenFile, '--json'], buildTestEnv());
    expect(run.code).toBe(exitCodes.config);
    const { findings } = JSON.parse(run.stdout) as { findings: ConfigFinding[] };
    expect(findings.map(({ line, code }) => ({ line, code }))).toEqual([
      { line: 5, code: 'CONFIG_LITERAL_SECRET' },
      { line: 10, code: 'CONFIG_MISSING_KEY' },
      { line: 16, code: 'CONFIG_UNKNOWN_KEY' },
    ]);
  });

  it('exits 2 on a --timeout that is not a number of seconds', async () => {
    const run = await runCli(['validate', '--config', validFile, '--timeout', 'soon'], buildTestEnv());
    expect(run.code).toBe(exitCodes.usage);
    expect(run.stderr).toContain("--timeout must be a whole number from 1 to 600, got 'soon'");
  });

  it('exits 2 when --config is missing', async () => {
    const run = await runCli(['validate'], buildTestEnv());
    expect(run.code).toBe(exitCodes.usage);
    expect(run.stderr).toContain("required option '-c, --config <file>' not specified");
  });
});

describe('dcsync config show (own process)', () => {
  it('prints the resolved configuration with defaults and redacted secrets', async () => {
    const run = await runCli(['config', 'show', '--config', validFile], buildTestEnv());
    expect(run.code).toBe(exitCodes.ok);
    const shown = parseYaml(run.stdout) as Record<string, Record<string, unknown>>;
    expect(shown.dynamics).toMatchObject({
      clientId: '11111111-2222-3333-4444-555555555555',
      clientSecret: '[redacted] (env:DYNAMICS_CLIENT_SECRET)',
      maxConcurrency: 4,
    });
    expect(shown.server).toEqual({
      host: '127.0.0.1',
      port: 8080,
      adminToken: '[redacted] (env:DCSYNC_ADMIN_TOKEN)',
    });
    expect(run.stdout).not.toContain('test-dynamics-secret');
  });
});

function captureContext(env: Record<string, string>): { context: CliContext; output: () => string } {
  const out = new PassThrough();
  const err = new PassThrough();
  let written = '';
  out.on('data', (chunk: Buffer) => (written += chunk.toString()));
  err.on('data', (chunk: Buffer) => (written += chunk.toString()));
  const context: CliContext = { redactor: new Redactor(), out, err, env, setExitCode: () => undefined };
  return { context, output: () => written };
}

describe('validate and config show (in process)', () => {
  it('exits 3 naming a missing environment variable', async () => {
    const env = buildTestEnv();
    delete env.DCSYNC_ADMIN_TOKEN;
    const { context, output } = captureContext(env);
    expect(await runValidate({ config: validFile }, context)).toBe(exitCodes.config);
    expect(output()).toContain(
      `${validFile}:15:3 error CONFIG_SECRET_ENV_MISSING server.adminToken: environment variable DCSYNC_ADMIN_TOKEN is not set`,
    );
  });

  it('validates the shipped example', async () => {
    const { context, output } = captureContext(buildTestEnv());
    expect(await runValidate({ config: 'examples/sync.yaml', offline: true }, context)).toBe(exitCodes.ok);
    expect(output()).toContain(
      'examples/sync.yaml: valid (0 error(s), 0 warning(s), 1 note(s)); live checks: skipped (--offline)',
    );
  });

  it('config show exits 3 and prints only findings for an invalid file', () => {
    const { context, output } = captureContext(buildTestEnv());
    expect(runConfigShow({ config: brokenFile }, context)).toBe(exitCodes.config);
    expect(output().trim().split('\n')).toHaveLength(3);
    expect(output()).not.toContain('dynamics:');
  });
});

describe('validate live checks', () => {
  const failing: LiveCheck = {
    name: 'dynamics-change-tracking',
    run: ({ config }) =>
      Promise.resolve([
        {
          severity: 'error',
          code: 'PREFLIGHT_CHANGE_TRACKING',
          path: 'flows.contacts.table',
          message: `change tracking is disabled on ${config.flows.contacts.table}`,
        },
      ]),
  };

  it('runs the registered checks after the file passes and exits 6 on their errors', async () => {
    const seen: string[] = [];
    const spy: LiveCheck = {
      name: 'sees-secrets',
      run: ({ config, signal }) => {
        seen.push(config.campaign.clientSecret.reveal(), String(signal.aborted));
        return Promise.resolve([]);
      },
    };
    const { context, output } = captureContext(buildTestEnv());
    const code = await runValidate({ config: validFile, liveChecks: [failing, spy] }, context);
    expect(code).toBe(exitCodes.preflight);
    expect(seen).toEqual(['test-campaign-secret', 'false']);
    expect(output()).toContain('failed  dynamics-change-tracking (');
    expect(output()).toContain('): change tracking is disabled on contact');
    expect(output()).toContain('live checks: 2 run (1 passed, 0 warning(s), 1 failed, 0 skipped)');
  });

  it('skips them with offline, and when the file itself has errors', async () => {
    const offline = captureContext(buildTestEnv());
    expect(
      await runValidate({ config: validFile, offline: true, liveChecks: [failing] }, offline.context),
    ).toBe(exitCodes.ok);
    const broken = captureContext(buildTestEnv());
    expect(await runValidate({ config: brokenFile, liveChecks: [failing] }, broken.context)).toBe(
      exitCodes.config,
    );
    expect(broken.output()).not.toContain('PREFLIGHT');
  });

  it('fails a check that does not answer in time (its signal aborted) and skips the checks that need it', async () => {
    let aborted = false;
    const hanging: LiveCheck = {
      name: 'entra-token',
      configPath: ['dynamics', 'clientSecret'],
      run: ({ signal }) =>
        new Promise(() => {
          signal.addEventListener('abort', () => (aborted = true));
        }),
    };
    const dependent: LiveCheck = {
      name: 'dataverse-whoami',
      dependsOn: ['entra-token'],
      run: () => Promise.resolve([]),
    };
    const { context, output } = captureContext(buildTestEnv());
    const code = await runValidate(
      { config: validFile, json: true, liveChecks: [hanging, dependent], liveCheckTimeoutMs: 20 },
      context,
    );
    expect(code).toBe(exitCodes.preflight);
    expect(aborted).toBe(true);
    const report = JSON.parse(output()) as { liveChecks: LiveCheckResult[] };
    expect(
      report.liveChecks.map(({ id, status, message, path, line }) => ({ id, status, message, path, line })),
    ).toEqual([
      {
        id: 'entra-token',
        status: 'failed',
        message: 'no answer within 0.02 s (--timeout)',
        path: 'dynamics.clientSecret',
        line: 5,
      },
      {
        id: 'dataverse-whoami',
        status: 'skipped',
        message: 'skipped: entra-token failed',
        path: undefined,
        line: undefined,
      },
    ]);
  });

  it('warnings alone exit 0', async () => {
    const warning: LiveCheck = {
      name: 'optout-export',
      run: () =>
        Promise.resolve([
          { severity: 'warning', code: 'PREFLIGHT_OPTOUT_EXPORT', path: '', message: 'no file yet' },
        ]),
    };
    const { context, output } = captureContext(buildTestEnv());
    expect(await runValidate({ config: validFile, liveChecks: [warning] }, context)).toBe(exitCodes.ok);
    expect(output()).toContain('live checks: 1 run (0 passed, 1 warning(s), 0 failed, 0 skipped)');
  });

  it('skips checks that do not apply and turns a thrown error into a redacted finding', async () => {
    const notApplicable: LiveCheck = { ...failing, appliesTo: () => false };
    const throwing: LiveCheck = {
      name: 'campaign-metadata',
      run: ({ config }) => Promise.reject(new Error(`IMS refused ${config.campaign.clientSecret.reveal()}`)),
    };
    const { context, output } = captureContext(buildTestEnv());
    const code = await runValidate({ config: validFile, liveChecks: [notApplicable, throwing] }, context);
    expect(code).toBe(exitCodes.preflight);
    expect(output()).toContain('): live check campaign-metadata failed: IMS refused [redacted]');
    expect(output()).not.toContain('test-campaign-secret');
  });
});

/**
 * The live checks against the emulators, through the production clients: a fully correct pair
 * passes every check; each assumption removed in turn fails (or warns) on exactly that check.
 */
describe('validate live checks against the emulators', () => {
  let bed: OptOutTestBed;
  let keyless: CampaignEmulator;
  let unmapped: CampaignEmulator;
  let filterless: CampaignEmulator;
  /** Knows only the bed's tenant (any other answers AADSTS90002); its contact.donotemail is read-only. */
  let strictDynamics: DynamicsEmulator;
  /** Knows only the bed's tenant; has a webhook service endpoint registered for /webhooks/dynamics. */
  let hookedDynamics: DynamicsEmulator;
  let lockedDynamics: DynamicsEmulator;
  /** Its webhook for /webhooks/dynamics sends the key in the query string (authtype 6), not a header. */
  let queryKeyDynamics: DynamicsEmulator;
  /** Has the four e-mail event activity tables as docs/email-events.md says to create them. */
  let activityDynamics: DynamicsEmulator;
  /**
   * Its adobe_emailopen is an ordinary table (IsActivity false), adobe_emailclick lacks
   * adobe_trackingurl, adobe_emailbounce does not exist.
   */
  let brokenActivityDynamics: DynamicsEmulator;
  const env = (): Record<string, string> => ({ ...(testEnv as Record<string, string>) });

  interface JsonReport {
    verdict: string;
    liveChecks: LiveCheckResult[];
  }

  /** A copy of the bed's configuration with `edit` applied, written next to it. */
  function variant(name: string, edit: (config: Record<string, Record<string, unknown>>) => void): string {
    const config = parseYaml(readFileSync(bed.bed.configPath, 'utf8')) as Record<
      string,
      Record<string, unknown>
    >;
    edit(config);
    const file = join(bed.bed.dir, `${name}.yaml`);
    writeFileSync(file, stringifyYaml(config));
    return file;
  }

  async function validate(
    config: string,
    options: { env?: Record<string, string>; strict?: boolean } = {},
  ): Promise<{ code: number; report: JsonReport; byId: Map<string, LiveCheckResult> }> {
    const { context, output } = captureContext(options.env ?? env());
    const code = await runValidate({ config, json: true, strict: options.strict ?? false }, context);
    const report = JSON.parse(output()) as JsonReport;
    return { code, report, byId: new Map(report.liveChecks.map((check) => [check.id, check])) };
  }

  function notPassed(report: JsonReport): Record<string, string> {
    return Object.fromEntries(
      report.liveChecks.filter((check) => check.status !== 'passed').map((check) => [check.id, check.status]),
    );
  }

  function lineOf(file: string, key: string): number {
    return (
      readFileSync(file, 'utf8')
        .split('\n')
        .findIndex((line) => line.trimStart().startsWith(`${key}:`)) + 1
    );
  }

  beforeAll(async () => {
    bed = await OptOutTestBed.start({ mode: 'campaign-to-dynamics' });
    const config = parseYaml(readFileSync(bed.bed.configPath, 'utf8')) as Record<string, unknown>;
    config.privacy = {
      serviceUrl: bed.bed.campaign.privacyServiceUrl,
      imsOrgId: bed.bed.campaign.imsOrgId,
      namespaces: [
        { namespace: 'email', type: 'standard', source: 'email' },
        { namespace: 'crmId', type: 'custom', source: 'externalId' },
      ],
    };
    writeFileSync(bed.bed.configPath, stringifyYaml(config));
    await bed.exportNow();
    keyless = await startCampaignEmulator({ seedFile: { profile: { customKey: null } } });
    unmapped = await startCampaignEmulator({
      privacyNamespaces: defaultPrivacyNamespaces.filter(
        (namespace) => namespace.privacyServiceNamespace !== 'crmId',
      ),
    });
    filterless = await startCampaignEmulator({ seedFile: { profile: { withoutFilters: ['byEmail'] } } });
    strictDynamics = await startDynamicsEmulator({
      tenants: [String((config.dynamics as Record<string, unknown>).tenantId)],
      seedData: parseSeedFile('contact: { readOnlyColumns: [donotemail] }'),
    });
    lockedDynamics = await startDynamicsEmulator({
      tenants: [String((config.dynamics as Record<string, unknown>).tenantId)],
      seedData: parseSeedFile('unreadableTables: [contact]'),
    });
    hookedDynamics = await startDynamicsEmulator({
      tenants: [String((config.dynamics as Record<string, unknown>).tenantId)],
      seedData: parseSeedFile(
        [
          'serviceEndpoints:',
          "  - { name: bus, url: 'sb://bus.example.com/', contract: 1, authtype: 2 }",
          "  - { name: dcsync, url: 'https://sync.example.com/webhooks/dynamics', contract: 8, authtype: 5 }",
        ].join('\n'),
      ),
    });
    queryKeyDynamics = await startDynamicsEmulator({
      tenants: [String((config.dynamics as Record<string, unknown>).tenantId)],
      seedData: parseSeedFile(
        "serviceEndpoints: [{ name: dcsync, url: 'https://sync.example.com/webhooks/dynamics/', contract: 8, authtype: 6 }]",
      ),
    });
    const tenants = [String((config.dynamics as Record<string, unknown>).tenantId)];
    activityDynamics = await startDynamicsEmulator({ tenants, seedData: activityTablesSeed() });
    const click = activityTable('click');
    brokenActivityDynamics = await startDynamicsEmulator({
      tenants,
      seedData: {
        tables: [
          activityTable('send'),
          { ...activityTable('open'), isActivity: false, keys: [] },
          { ...click, columns: click.columns.filter((column) => column.name !== 'adobe_trackingurl') },
          // Its alternate key on the event id was never created.
          {
            ...activityTable('bounce'),
            logicalName: 'adobe_emailbouncenokey',
            entitySetName: 'adobe_emailbouncenokeys',
            keys: [],
          },
        ],
      },
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([
      bed.close(),
      keyless.close(),
      unmapped.close(),
      filterless.close(),
      strictDynamics.close(),
      lockedDynamics.close(),
      hookedDynamics.close(),
      queryKeyDynamics.close(),
      activityDynamics.close(),
      brokenActivityDynamics.close(),
    ]);
  });

  /** A variant whose Dynamics is `emulator` (`strictDynamics` unless said): its url, authority and CA file. */
  function strictDynamicsVariant(name: string, tenantId?: string, emulator = strictDynamics): string {
    const caFile = join(bed.bed.dir, `${name}-dynamics-ca.pem`);
    writeFileSync(caFile, emulator.caCert ?? '');
    return variant(name, (config) => {
      Object.assign(config.dynamics!, {
        url: emulator.url,
        authorityHost: emulator.authorityHost,
        caFile,
        ...(tenantId ? { tenantId } : {}),
      });
    });
  }

  const webhook = { key: 'env:DCSYNC_WEBHOOK_KEY' };
  /** A variant with `dynamics.webhook` set whose Dynamics is `emulator` (its url, authority and CA file). */
  function webhookVariant(name: string, emulator: DynamicsEmulator): string {
    const caFile = join(bed.bed.dir, `${name}-ca.pem`);
    writeFileSync(caFile, emulator.caCert ?? '');
    return variant(name, (config) => {
      Object.assign(config.dynamics!, {
        url: emulator.url,
        authorityHost: emulator.authorityHost,
        caFile,
        webhook,
      });
    });
  }
  /** A variant with flow F6 on for `types` whose Dynamics is `emulator`. */
  function emailEventsVariant(
    name: string,
    emulator: DynamicsEmulator,
    types: { send?: boolean; open?: boolean; click?: boolean; bounce?: boolean },
    tables: Record<string, string> = {},
  ): string {
    const caFile = join(bed.bed.dir, `${name}-ca.pem`);
    writeFileSync(caFile, emulator.caCert ?? '');
    return variant(name, (config) => {
      Object.assign(config.dynamics!, { url: emulator.url, authorityHost: emulator.authorityHost, caFile });
      config.flows!.emailEvents = {
        enabled: true,
        types: { send: false, open: false, click: false, bounce: false, ...types },
        ...(Object.keys(tables).length > 0 ? { tables } : {}),
        journal: { url: bed.bed.campaign.journalUrl, imsOrgId: bed.bed.campaign.imsOrgId },
      };
    });
  }
  const emailEventTablesDoc = 'docs/email-events.md#the-activity-tables-to-create-in-dynamics';

  const webhookEnv = (): Record<string, string> => ({
    ...env(),
    DCSYNC_WEBHOOK_KEY: 'webhook-key-1234567890',
  });

  const allChecks = [
    'entra-token',
    'dataverse-whoami',
    'dataverse-read',
    'dataverse-optout-write',
    'ims-token',
    'campaign-api',
    'campaign-keys',
    'campaign-filters',
    'contacts',
    'sftp',
    'optout-export',
    'privacy-service',
  ];

  it('a fully correct pair passes every check, each with its timing, and exits 0', async () => {
    const { code, report } = await validate(bed.bed.configPath);
    expect(report.liveChecks.map((check) => [check.id, check.status])).toEqual(
      allChecks.map((id) => [id, 'passed']),
    );
    expect(code).toBe(exitCodes.ok);
    expect(report.verdict).toBe('valid');
    for (const check of report.liveChecks) expect(check.durationMs).toBeGreaterThanOrEqual(0);
    const text = captureContext(env());
    await runValidate({ config: bed.bed.configPath }, text.context);
    const lines = text.output().trim().split('\n');
    const checkLines = lines.filter((line) => /^(passed|warning|failed|skipped) /.test(line));
    expect(checkLines.map((line) => line.split(' (')[0])).toEqual(allChecks.map((id) => `passed  ${id}`));
    expect(lines.at(-1)).toBe(
      `${bed.bed.configPath}: valid (0 error(s), 2 warning(s), 1 note(s)); live checks: ${allChecks.length} run (${allChecks.length} passed, 0 warning(s), 0 failed, 0 skipped)`,
    );
  });

  it('with a bulk lane, bulk-workflows checks the import workflow (exists, started, signal and parameter) and the import folder', async () => {
    const admin = bed.bed.campaign.admin;
    const file = variant('bulk', (config) => {
      const flows = (config.flows ??= {}) as Record<string, Record<string, unknown>>;
      flows.contacts = { ...flows.contacts, bulk: { workflowId: 'WKF_VALIDATE_BULK' } };
    });
    const missing = await validate(file);
    expect(missing.byId.get('bulk-workflows')).toMatchObject({ status: 'failed' });
    expect(JSON.stringify(missing.byId.get('bulk-workflows'))).toMatch(
      /workflow WKF_VALIDATE_BULK cannot be read \(flows\.contacts\.bulk\.workflowId, line \d+\)/,
    );
    expect(missing.code).toBe(exitCodes.preflight);

    admin.defineWorkflow({
      id: 'WKF_VALIDATE_BULK',
      kind: 'import',
      initialState: 'stopped',
      import: { resource: 'profile' },
    });
    const stopped = await validate(file);
    expect(JSON.stringify(stopped.byId.get('bulk-workflows'))).toMatch(
      /workflow WKF_VALIDATE_BULK is stopped .*start it in Campaign/,
    );

    admin.workflows.command('WKF_VALIDATE_BULK', 'start');
    const ready = await validate(file);
    expect(ready.byId.get('bulk-workflows')).toMatchObject({ status: 'passed' });
    expect(notPassed(ready.report)).toEqual({});

    const wrongParameter = variant('bulk-parameter', (config) => {
      const flows = (config.flows ??= {}) as Record<string, Record<string, unknown>>;
      flows.contacts = {
        ...flows.contacts,
        bulk: { workflowId: 'WKF_VALIDATE_BULK', fileParameter: 'path' },
      };
    });
    expect(JSON.stringify((await validate(wrongParameter)).byId.get('bulk-workflows'))).toMatch(
      /declares no 'path' parameter/,
    );
  });

  it('with dynamics.webhook set, a registered HttpHeader webhook for /webhooks/dynamics passes dataverse-webhook', async () => {
    const file = webhookVariant('webhook-registered', hookedDynamics);
    const { code, report, byId } = await validate(file, { env: webhookEnv() });
    expect(notPassed(report)).toEqual({});
    expect(code).toBe(exitCodes.ok);
    expect(report.liveChecks.map((check) => check.id)).toEqual([
      'entra-token',
      'dataverse-whoami',
      'dataverse-webhook',
      ...allChecks.slice(2),
    ]);
    expect(byId.get('dataverse-webhook')!.message).toBe(
      'webhook registered for sync.example.com/webhooks/dynamics (Http Header authentication)',
    );
  });

  it('a webhook for /webhooks/dynamics with another auth type is a warning (exit 0)', async () => {
    const file = webhookVariant('webhook-query-key', queryKeyDynamics);
    const { code, report, byId } = await validate(file, { env: webhookEnv() });
    expect(code).toBe(exitCodes.ok);
    expect(notPassed(report)).toEqual({ 'dataverse-webhook': 'warning' });
    expect(byId.get('dataverse-webhook')!.message).toBe(
      'the Dataverse webhook for sync.example.com/webhooks/dynamics does not use HttpHeader authentication (authtype 6): dcsync expects the key in the x-dcsync-key header (docs/operations.md#dataverse-webhooks)',
    );
  });

  it('with dynamics.webhook set and no webhook registered, dataverse-webhook fails naming the remedy', async () => {
    const file = variant('webhook-missing', (config) => {
      config.dynamics!.webhook = webhook;
    });
    const { code, report, byId } = await validate(file, { env: webhookEnv() });
    expect(code).toBe(exitCodes.preflight);
    expect(notPassed(report)).toEqual({ 'dataverse-webhook': 'failed' });
    expect(byId.get('dataverse-webhook')!.message).toBe(
      'no Dataverse webhook points at …/webhooks/dynamics: register one (docs/operations.md#dataverse-webhooks)',
    );
  });

  it('with flows.emailEvents on, the activity tables with their columns pass email-event-tables', async () => {
    const file = emailEventsVariant('email-events-ok', activityDynamics, {
      send: true,
      open: true,
      click: true,
      bounce: true,
    });
    const { code, report, byId } = await validate(file);
    expect(notPassed(report)).toEqual({});
    expect(code).toBe(exitCodes.ok);
    expect(byId.get('email-event-tables')!.message).toBe(
      'adobe_emailsend, adobe_emailopen, adobe_emailclick, adobe_emailbounce: activity tables with adobe_eventid, adobe_campaignname, adobe_deliveryname, adobe_mirrorpageurl, adobe_trackingurl, an active alternate key on adobe_eventid',
    );
  });

  it('an activity table without the alternate key on the event id is a warning that says how to create the key', async () => {
    const file = emailEventsVariant(
      'email-events-no-key',
      brokenActivityDynamics,
      { bounce: true },
      { bounce: 'adobe_emailbouncenokey' },
    );
    const { code, report, byId } = await validate(file);
    expect(code).toBe(exitCodes.ok);
    expect(notPassed(report)).toEqual({ 'email-event-tables': 'warning' });
    const check = byId.get('email-event-tables')!;
    expect(check.findings.map((finding) => [finding.code, finding.path])).toEqual([
      ['PREFLIGHT_EMAIL_EVENT_KEY', 'flows.emailEvents.fields.eventId'],
    ]);
    expect(check.message).toContain(
      'the activity table adobe_emailbouncenokey has no alternate key on adobe_eventid.',
    );
    expect(check.message).toContain(
      'Power Apps → Tables → adobe_emailbouncenokey → Keys → New key → column adobe_eventid',
    );
    expect(check.message).toContain(
      `POST EntityDefinitions(LogicalName='adobe_emailbouncenokey')/Keys {"SchemaName":"adobe_emailbouncenokey_eventidkey"`,
    );
  });

  it('a missing activity table fails email-event-tables, naming it and how to create it', async () => {
    const file = emailEventsVariant('email-events-no-table', brokenActivityDynamics, {
      send: true,
      bounce: true,
    });
    const { code, report, byId } = await validate(file);
    expect(code).toBe(exitCodes.preflight);
    expect(notPassed(report)).toEqual({ 'email-event-tables': 'failed' });
    const check = byId.get('email-event-tables')!;
    expect(check.findings.map((finding) => finding.path)).toEqual(['flows.emailEvents.tables.bounce']);
    expect(check.message).toBe(
      `Dynamics has no table adobe_emailbounce (flows.emailEvents.tables.bounce, line ${lineOf(file, 'emailEvents')}): create the bounce activity table adobe_emailbounce (Power Apps → Tables → New table → Advanced options → Table type: Activity table) with the columns adobe_eventid, adobe_campaignname, adobe_deliveryname, adobe_mirrorpageurl and an alternate key on adobe_eventid (${emailEventTablesDoc})`,
    );
  });

  it('a missing column fails email-event-tables, naming the table, the column and its config path', async () => {
    const file = emailEventsVariant('email-events-no-column', brokenActivityDynamics, { click: true });
    const { code, report, byId } = await validate(file);
    expect(code).toBe(exitCodes.preflight);
    expect(notPassed(report)).toEqual({ 'email-event-tables': 'failed' });
    expect(byId.get('email-event-tables')!.message).toBe(
      `the activity table adobe_emailclick has no column adobe_trackingurl (flows.emailEvents.fields.trackingUrl, line ${lineOf(file, 'emailEvents')}): add it to adobe_emailclick as Single line of text (${emailEventTablesDoc})`,
    );
  });

  it('an ordinary table where an activity table is configured fails email-event-tables (IsActivity false)', async () => {
    const file = emailEventsVariant('email-events-not-activity', brokenActivityDynamics, { open: true });
    const { report, byId } = await validate(file);
    expect(notPassed(report)).toEqual({ 'email-event-tables': 'failed' });
    expect(byId.get('email-event-tables')!.message).toBe(
      `Dynamics table adobe_emailopen is not an activity table (IsActivity is false): the open activity table adobe_emailopen must be created with Table type: Activity table, which cannot be changed afterwards (${emailEventTablesDoc})`,
    );
  });

  it('a wrong Entra secret fails entra-token (credential refused) and skips what needs Dataverse', async () => {
    const { code, report, byId } = await validate(bed.bed.configPath, {
      env: { ...env(), DYNAMICS_CLIENT_SECRET: 'wrong-secret' },
    });
    expect(code).toBe(exitCodes.preflight);
    expect(notPassed(report)).toEqual({
      'entra-token': 'failed',
      'dataverse-whoami': 'skipped',
      'dataverse-read': 'skipped',
      'dataverse-optout-write': 'skipped',
      contacts: 'skipped',
    });
    expect(byId.get('entra-token')!.message).toBe(
      `Entra refused the client credentials (dynamics.clientSecret, line ${lineOf(bed.bed.configPath, 'clientSecret')}): invalid_client; use the secret's value (not its id) and check it has not expired`,
    );
    expect(byId.get('dataverse-whoami')!.message).toBe('skipped: entra-token failed');
  });

  it('an unreachable Entra authority fails entra-token as unreachable', async () => {
    const file = variant('entra-down', (config) => {
      config.dynamics!.authorityHost = 'https://127.0.0.1:9';
    });
    const { report, byId } = await validate(file);
    expect(notPassed(report)).toMatchObject({ 'entra-token': 'failed' });
    expect(byId.get('entra-token')!.message).toBe(
      `Entra ID is unreachable (dynamics.authorityHost, line ${lineOf(file, 'authorityHost')}): check the network, proxy and caFile`,
    );
  });

  it('a tenant Entra does not know fails entra-token (AADSTS90002) and skips what needs Dataverse', async () => {
    const file = strictDynamicsVariant('unknown-tenant', 'fabrikam.onmicrosoft.com');
    const { code, report, byId } = await validate(file);
    expect(code).toBe(exitCodes.preflight);
    expect(notPassed(report)).toEqual({
      'entra-token': 'failed',
      'dataverse-whoami': 'skipped',
      'dataverse-read': 'skipped',
      'dataverse-optout-write': 'skipped',
      contacts: 'skipped',
    });
    expect(byId.get('entra-token')!.message).toBe(
      `Entra does not know the tenant (dynamics.tenantId, line ${lineOf(file, 'tenantId')}): AADSTS90002; use the directory (tenant) id of the app registration`,
    );
  });

  it('a security role without Read on a synced table fails dataverse-read, naming the table and the privilege', async () => {
    const file = strictDynamicsVariant('unreadable-contact', undefined, lockedDynamics);
    const { code, report, byId } = await validate(file);
    expect(code).toBe(exitCodes.preflight);
    expect(notPassed(report)).toEqual({ 'dataverse-read': 'failed' });
    expect(byId.get('dataverse-read')!.message).toMatch(
      /^cannot read Dynamics table contact: .*missing prvReadcontact privilege.*; give the application user's security role Read on it$/,
    );
  });

  it('a Dataverse environment that refuses WhoAmI fails dataverse-whoami and skips what reads it', async () => {
    bed.bed.dynamics.admin.configureFaults({ errorRate: 1, errorStatus: 403, pathPattern: 'WhoAmI' });
    try {
      const { code, report, byId } = await validate(bed.bed.configPath);
      expect(code).toBe(exitCodes.preflight);
      expect(notPassed(report)).toEqual({
        'dataverse-whoami': 'failed',
        'dataverse-read': 'skipped',
        'dataverse-optout-write': 'skipped',
        contacts: 'skipped',
      });
      expect(byId.get('dataverse-whoami')!.message).toBe(
        `Dataverse did not answer WhoAmI (dynamics.url, line ${lineOf(bed.bed.configPath, 'url')}): Dynamics GET WhoAmI failed with HTTP 403 (0x80040216): An unexpected error occurred.; check the URL and that the application user exists with a security role`,
      );
    } finally {
      bed.bed.dynamics.admin.resetFaults();
    }
  });

  it('a mapped opt-out column that is not valid for update fails dataverse-optout-write', async () => {
    const file = strictDynamicsVariant('read-only-optout');
    const { code, report, byId } = await validate(file);
    expect(code).toBe(exitCodes.preflight);
    expect(notPassed(report)).toEqual({ 'dataverse-optout-write': 'failed' });
    expect(byId.get('dataverse-optout-write')!.message).toBe(
      'Dynamics column contact.donotemail cannot be updated (IsValidForUpdate is false): map an updatable Boolean column',
    );
  });

  it('a Campaign organization the credential does not reach fails campaign-api while ims-token passes', async () => {
    const file = variant('wrong-org', (config) => {
      config.campaign!.url = `${new URL(bed.bed.campaign.url).origin}/not-our-org`;
    });
    const { code, report, byId } = await validate(file);
    expect(code).toBe(exitCodes.preflight);
    expect(notPassed(report)).toEqual({
      'campaign-api': 'failed',
      'campaign-keys': 'skipped',
      'campaign-filters': 'skipped',
      contacts: 'skipped',
    });
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .findIndex((text) => text.includes('/not-our-org'));
    expect(byId.get('campaign-api')!.message).toBe(
      `Campaign did not answer (campaign.url, line ${line + 1}): Campaign GET resourceType profile answered HTTP 500: the gateway cannot route this URL; check the organization in campaign.url`,
    );
  });

  it('a profile resource without the byEmail filter fails campaign-filters', async () => {
    const caFile = join(bed.bed.dir, 'filterless-ca.pem');
    writeFileSync(caFile, filterless.caCert ?? '');
    const file = variant('filterless', (config) => {
      Object.assign(config.campaign!, { url: filterless.url, imsUrl: filterless.imsUrl, caFile });
      Object.assign(config.privacy!, {
        serviceUrl: filterless.privacyServiceUrl,
        imsOrgId: filterless.imsOrgId,
      });
    });
    const { code, report, byId } = await validate(file);
    expect(code).toBe(exitCodes.preflight);
    expect(notPassed(report)).toEqual({ 'campaign-filters': 'failed' });
    expect(byId.get('campaign-filters')!.message).toBe(
      'the profile filter byEmail does not answer on profileAndServicesExt: Campaign GET profile list answered HTTP 404 (RST-360011): not found',
    );
  });

  it('a wrong Campaign secret fails ims-token at once: IMS is asked exactly once', async () => {
    bed.bed.campaign.admin.resetStats();
    const { code, report, byId } = await validate(bed.bed.configPath, {
      env: { ...env(), CAMPAIGN_CLIENT_SECRET: 'wrong-secret' },
    });
    expect(code).toBe(exitCodes.preflight);
    expect(notPassed(report)).toEqual({
      'ims-token': 'failed',
      'campaign-api': 'skipped',
      'campaign-keys': 'skipped',
      'campaign-filters': 'skipped',
      contacts: 'skipped',
      'privacy-service': 'skipped',
    });
    const line = readFileSync(bed.bed.configPath, 'utf8')
      .split('\n')
      .findIndex((text) => text.includes('env:CAMPAIGN_CLIENT_SECRET'));
    expect(byId.get('ims-token')!.message).toBe(
      `IMS refused the client credentials (campaign.clientSecret, line ${line + 1})`,
    );
    expect(bed.bed.campaign.admin.stats().byOperation['POST ims/token']).toBe(1);
  });

  it('a wrong SFTP password fails sftp (and skips the export check)', async () => {
    const passwordFile = join(bed.bed.dir, 'wrong-sftp-password');
    writeFileSync(passwordFile, 'not-the-password');
    const file = variant('sftp-password', (config) => {
      (config.campaign!.sftp as Record<string, unknown>).password = `file:${passwordFile}`;
    });
    const { code, report, byId } = await validate(file);
    expect(code).toBe(exitCodes.preflight);
    expect(notPassed(report)).toEqual({ sftp: 'failed', 'optout-export': 'skipped' });
    expect(byId.get('sftp')!.message).toBe(
      `the SFTP server refused the login of ${bed.bed.campaign.sftp!.username} (campaign.sftp.password, line ${lineOf(file, 'password')})`,
    );
  });

  it('an SFTP host key that does not match the pinned one fails sftp', async () => {
    const file = variant('sftp-host-key', (config) => {
      (config.campaign!.sftp as Record<string, unknown>).hostKeySha256 = `SHA256:${'A'.repeat(43)}`;
    });
    const { report, byId } = await validate(file);
    expect(notPassed(report)).toEqual({ sftp: 'failed', 'optout-export': 'skipped' });
    expect(byId.get('sftp')!.message).toBe(
      `the SFTP server's host key does not match the pinned fingerprint (campaign.sftp.hostKeySha256, line ${lineOf(file, 'hostKeySha256')}): compare with ssh-keyscan 127.0.0.1 | ssh-keygen -lf -`,
    );
  });

  it('a profile resource without externalId as identification key fails campaign-keys', async () => {
    const caFile = join(bed.bed.dir, 'keyless-ca.pem');
    writeFileSync(caFile, keyless.caCert ?? '');
    const file = variant('keyless', (config) => {
      Object.assign(config.campaign!, { url: keyless.url, imsUrl: keyless.imsUrl, caFile });
      delete config.privacy;
    });
    const { code, report, byId } = await validate(file);
    expect(code).toBe(exitCodes.preflight);
    expect(notPassed(report)).toEqual({ 'campaign-keys': 'failed' });
    expect(byId.get('campaign-keys')!.message).toBe(
      'externalId is not declared as an identification key of profile (declared: none): in Campaign, Administration → Development → Custom resources → Profile (extension) → Identification keys, add externalId, then publish',
    );
  });

  it('an identity namespace not defined for the organization fails privacy-service', async () => {
    const caFile = join(bed.bed.dir, 'unmapped-ca.pem');
    writeFileSync(caFile, unmapped.caCert ?? '');
    const file = variant('unmapped', (config) => {
      Object.assign(config.campaign!, { url: unmapped.url, imsUrl: unmapped.imsUrl, caFile });
      Object.assign(config.privacy!, { serviceUrl: unmapped.privacyServiceUrl, imsOrgId: unmapped.imsOrgId });
    });
    const { code, report, byId } = await validate(file);
    expect(code).toBe(exitCodes.preflight);
    expect(notPassed(report)).toEqual({ 'privacy-service': 'failed' });
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .findIndex((text) => text.includes('namespace: crmId'));
    expect(byId.get('privacy-service')!.message).toBe(
      `identity namespace crmId is not defined for ${unmapped.imsOrgId} (privacy.namespaces[1].namespace, line ${line + 1}): create it in Identity Service (Identities → Create identity namespace) and map it in Campaign (Administration → Application settings → Namespaces)`,
    );
  });

  it('no opt-out export file yet: a warning (exit 0), an error with --strict', async () => {
    const moved: [string, string][] = [];
    for (const dir of [bed.bed.campaign.sftp!.exportDir, 'd365_loads/archive']) {
      const onDisk = bed.onDisk(dir);
      if (!existsSync(onDisk)) continue;
      for (const name of readdirSync(onDisk).filter((entry) => entry.endsWith('.csv'))) {
        const from = join(onDisk, name);
        const to = join(bed.bed.dir, name);
        renameSync(from, to);
        moved.push([to, from]);
      }
    }
    try {
      const message = `no opt-out export file (optout_*.csv) in ${bed.bed.campaign.sftp!.exportDir} or d365_loads/archive: schedule the Campaign export workflow and let it run once`;
      const warned = await validate(bed.bed.configPath);
      expect(warned.code).toBe(exitCodes.ok);
      expect(notPassed(warned.report)).toEqual({ 'optout-export': 'warning' });
      expect(warned.byId.get('optout-export')!.message).toBe(message);
      const strict = await validate(bed.bed.configPath, { strict: true });
      expect(strict.code).toBe(exitCodes.preflight);
      expect(notPassed(strict.report)).toEqual({ 'optout-export': 'failed' });
    } finally {
      for (const [from, to] of moved) renameSync(from, to);
    }
  });

  it('a latest export file without the mapped columns fails optout-export', async () => {
    const file = join(bed.onDisk(bed.bed.campaign.sftp!.exportDir), 'optout_29990101000000.csv');
    writeFileSync(file, 'PKey;externalId;blackListSms;blackListSmsLastModified\n');
    const future = new Date(Date.UTC(2999, 0, 1));
    utimesSync(file, future, future);
    try {
      const { code, report, byId } = await validate(bed.bed.configPath);
      expect(code).toBe(exitCodes.preflight);
      expect(notPassed(report)).toEqual({ 'optout-export': 'failed' });
      expect(byId.get('optout-export')!.message).toBe(
        'the latest opt-out export file optout_29990101000000.csv: opt-out export header has no column blackListEmail; the export workflow must write PKey, externalId and, for each mapped attribute, the attribute and <attribute>LastModified',
      );
    } finally {
      rmSync(file);
    }
  });

  it('a synced table without change tracking fails contacts', async () => {
    bed.dynamics.setChangeTracking('contact', false);
    try {
      const { code, report, byId } = await validate(bed.bed.configPath);
      expect(code).toBe(exitCodes.preflight);
      expect(notPassed(report)).toEqual({ contacts: 'failed' });
      expect(byId.get('contacts')!.message).toBe(changeTrackingMessage('contact'));
    } finally {
      bed.dynamics.setChangeTracking('contact', true);
    }
  });
});

/**
 * Invariant I11 (issue 2, item 7): canary secrets and canary personal data are planted where the
 * process will meet them — environment secrets, literal secrets and personal values in a broken
 * config, a YAML syntax error on a canary line, and log calls carrying canaries in nested fields,
 * headers, error messages and causes — and everything written (stdout, stderr, the log file) is
 * searched for them. Each canary is also shown to have been fed in, and the search itself is shown
 * to find a canary when one is there, so the test can fail.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodes } from '../../../src/cli/exit-codes.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { createLogger } from '../../../src/logging/logger.js';
import { Redactor } from '../../../src/logging/redactor.js';
import { ConnectorError } from '../../../src/core/errors.js';
import { minimalConfigYaml } from '../../unit/config/support/config-builders.js';
import { runCli, type CliRun } from './support/run-cli.js';

const canarySecrets = {
  DYNAMICS_CLIENT_SECRET: 'cnry-dyn-secret-7f3a9c21',
  CAMPAIGN_CLIENT_SECRET: 'cnry-acs-secret-51be08d4',
  DCSYNC_ADMIN_TOKEN: 'cnry-admin-token-e6d2b7a0',
  DCSYNC_WEBHOOK_KEY: 'cnry-webhook-key-90c4f1e3',
} as const;
const literalSecret = 'cnry-literal-secret-3b8e55aa';
const urlPassword = 'cnry-db-password-c01d9e7f';
const canaryEmail = 'zebulon.quixotefield@canary-mail.test';
const canaryFirstName = 'Zebulon';
const canaryLastName = 'Quixotefield';

const allCanaries = [
  ...Object.values(canarySecrets),
  literalSecret,
  urlPassword,
  canaryEmail,
  canaryFirstName,
  canaryLastName,
];

/** Every canary found in `text` (case-insensitive, so a re-cased leak counts too). */
function findCanaries(text: string): string[] {
  const lowered = text.toLowerCase();
  return allCanaries.filter((canary) => lowered.includes(canary.toLowerCase()));
}

const env: Record<string, string> = {
  ...canarySecrets,
  DYNAMICS_CLIENT_ID: 'dyn-client-id',
  CAMPAIGN_CLIENT_ID: 'acs-client-id',
};

const validYaml = minimalConfigYaml.replace(
  '  clientSecret: env:DYNAMICS_CLIENT_SECRET\n',
  '  clientSecret: env:DYNAMICS_CLIENT_SECRET\n  webhook: { key: env:DCSYNC_WEBHOOK_KEY }\n',
);

/** Mistakes whose naive error messages would echo a secret or a person. */
const leakyYaml = [
  'dynamics:',
  '  url: https://contoso.crm.dynamics.com',
  '  tenantId: 00000000-0000-0000-0000-000000000000',
  '  clientId: env:DYNAMICS_CLIENT_ID',
  `  clientSecret: ${literalSecret}`, // 5
  `  nickname: ${canaryFirstName} ${canaryLastName}`, // 6
  'campaign:',
  '  url: https://mc.adobe.io/contoso',
  '  clientId: env:CAMPAIGN_CLIENT_ID',
  '  clientSecret: env:CAMPAIGN_CLIENT_SECRET',
  '  budget: { callsPerSecond: 20, callsPerDay: 500000 }',
  `store: { url: "postgres://dcsync:${urlPassword}@db.internal/dcsync" }`, // 12
  'flows:',
  '  contacts:',
  '    mapping:',
  '      firstname: firstName',
  `      lastname: { to: lastName, replacements: [{ from: ${canaryLastName}, to: [${canaryFirstName}] }] }`, // 17
  `    filter: { all: [{ field: emailaddress1, op: "null", value: "${canaryEmail}" }] }`, // 18
  '  optOut:',
  `    mode: "${canaryFirstName}"`, // 20
  'server:',
  '  adminToken: env:DCSYNC_ADMIN_TOKEN',
  `  port: "${canaryLastName}"`, // 23
  '',
].join('\n');

const syntaxErrorYaml = minimalConfigYaml.replace(
  '  tenantId: 00000000-0000-0000-0000-000000000000',
  `  tenantId: ${canaryEmail}: ${canaryFirstName} ${canaryLastName} ${literalSecret}`,
);

let dir: string;
const files = { valid: '', leaky: '', syntax: '', log: '' };
const runs: Record<string, CliRun> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dcsync-canary-'));
  files.valid = join(dir, 'valid.yaml');
  files.leaky = join(dir, 'leaky.yaml');
  files.syntax = join(dir, 'syntax.yaml');
  files.log = join(dir, 'service.log');
  writeFileSync(files.valid, validYaml);
  writeFileSync(files.leaky, leakyYaml);
  writeFileSync(files.syntax, syntaxErrorYaml);
  const invocations: Record<string, string[]> = {
    // --offline: the file names a tenant this machine cannot reach.
    validateValid: ['validate', '--config', files.valid, '--offline'],
    showValid: ['config', 'show', '--config', files.valid],
    validateLeaky: ['validate', '--config', files.leaky],
    validateLeakyJson: ['validate', '--config', files.leaky, '--json'],
    showLeaky: ['config', 'show', '--config', files.leaky],
    validateSyntax: ['validate', '--config', files.syntax, '--json'],
  };
  const results = await Promise.all(Object.values(invocations).map((args) => runCli(args, env)));
  Object.keys(invocations).forEach((name, index) => {
    runs[name] = results[index]!;
  });
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('canary secrets and personal data never reach the output', () => {
  it('the search finds a canary when one is present', () => {
    expect(findCanaries(`prefix ${canaryEmail.toUpperCase()} suffix`)).toContain(canaryEmail);
    expect(findCanaries(`token=${canarySecrets.DCSYNC_ADMIN_TOKEN}`)).toEqual([
      canarySecrets.DCSYNC_ADMIN_TOKEN,
    ]);
  });

  it('the canaries were really fed to the CLI', () => {
    for (const canary of [literalSecret, urlPassword, canaryEmail, canaryFirstName, canaryLastName])
      expect(readFileSync(files.leaky, 'utf8') + readFileSync(files.syntax, 'utf8')).toContain(canary);
    // The valid file resolved every secret from the canary environment (exit 0, secrets shown as redacted).
    expect(runs.validateValid!.code).toBe(exitCodes.ok);
    expect(runs.showValid!.code).toBe(exitCodes.ok);
    expect(runs.showValid!.stdout).toContain('clientSecret: "[redacted] (env:DYNAMICS_CLIENT_SECRET)"');
    expect(runs.showValid!.stdout).toContain('adminToken: "[redacted] (env:DCSYNC_ADMIN_TOKEN)"');
    expect(runs.showValid!.stdout).toContain('key: "[redacted] (env:DCSYNC_WEBHOOK_KEY)"');
    // The broken file was parsed: each canary-bearing line produced a finding.
    expect(runs.validateLeaky!.code).toBe(exitCodes.config);
    const lines = new Set(
      (JSON.parse(runs.validateLeakyJson!.stdout) as { findings: { line: number }[] }).findings.map(
        (finding) => finding.line,
      ),
    );
    for (const line of [5, 6, 12, 17, 18, 20, 23]) expect(lines).toContain(line);
    expect(runs.validateSyntax!.code).toBe(exitCodes.config);
    expect(runs.validateSyntax!.stdout).toContain('"line": 3');
  });

  it('no CLI run wrote a canary to stdout or stderr', () => {
    const leaks = Object.entries(runs).flatMap(([name, run]) =>
      findCanaries(run.stdout + run.stderr).map((canary) => `${name}: ${canary}`),
    );
    expect(leaks).toEqual([]);
  });

  it('the logger writes no canary, wherever it sits in a log call', () => {
    const redactor = new Redactor();
    const loaded = loadConfig(files.valid, { env, redactor });
    if (!loaded.ok) throw new Error('the canary config should load');
    const destination = pino.destination({ dest: files.log, sync: true });
    const logger = createLogger(redactor, { destination, level: 'trace' });
    const cause = new Error(`IMS answered 401 for client secret ${canarySecrets.CAMPAIGN_CLIENT_SECRET}`);
    const failure = new ConnectorError(
      'campaign',
      'CAMPAIGN_HTTP_400',
      `profile rejected for ${canaryEmail}`,
      {
        status: 400,
        cause,
      },
    );
    const record = {
      contactid: '0b8f0c2e-0000-0000-0000-000000000001',
      firstName: canaryFirstName,
      lastname: canaryLastName,
      emailAddress1: canaryEmail,
    };
    logger.info({ config: loaded.config }, 'configuration loaded');
    logger.debug(
      { change: { table: 'contact', after: { attributes: { nested: record } } } },
      'change staged',
    );
    logger.debug(
      {
        request: {
          headers: {
            Authorization: `Bearer ${canarySecrets.DCSYNC_ADMIN_TOKEN}`,
            'X-Api-Key': 'acs-client-id',
            'x-dcsync-key': canarySecrets.DCSYNC_WEBHOOK_KEY,
          },
          rawHeaders: ['authorization', `Basic ${canarySecrets.DYNAMICS_CLIENT_SECRET}`],
        },
      },
      'request sent',
    );
    logger.error({ err: failure, error: failure, key: record.contactid }, 'write failed');
    logger.warn(`retrying after ${canarySecrets.DYNAMICS_CLIENT_SECRET} was refused for ${canaryEmail}`);
    logger.info({ values: [record], secret: loaded.config.server.adminToken }, 'batch');
    logger.flush();
    destination.flushSync();
    const written = readFileSync(files.log, 'utf8');
    expect(written.trim().split('\n')).toHaveLength(6);
    expect(written).toContain('0b8f0c2e-0000-0000-0000-000000000001');
    expect(findCanaries(written)).toEqual([]);
  });

  it('the same log calls leak through a logger without the choke point (control)', () => {
    const lines: string[] = [];
    const raw = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    raw.info({ nested: { firstName: canaryFirstName, emailAddress1: canaryEmail } }, 'change staged');
    raw.warn(`retrying after ${canarySecrets.DYNAMICS_CLIENT_SECRET} was refused`);
    expect(findCanaries(lines.join(''))).toEqual(
      expect.arrayContaining([canaryFirstName, canaryEmail, canarySecrets.DYNAMICS_CLIENT_SECRET]),
    );
  });
});

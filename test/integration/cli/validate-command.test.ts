import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConfigShow } from '../../../src/cli/commands/config-command.js';
import { runValidate } from '../../../src/cli/commands/validate-command.js';
import type { CliContext } from '../../../src/cli/cli-context.js';
import { exitCodes } from '../../../src/cli/exit-codes.js';
import type { ConfigFinding } from '../../../src/config/config-finding.js';
import type { LiveCheck } from '../../../src/config/live-check.js';
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

  it('prints a JSON array with --json', async () => {
    const run = await runCli(['validate', '--config', brokenFile, '--json'], buildTestEnv());
    expect(run.code).toBe(exitCodes.config);
    const findings = JSON.parse(run.stdout) as ConfigFinding[];
    expect(findings.map(({ line, code }) => ({ line, code }))).toEqual([
      { line: 5, code: 'CONFIG_LITERAL_SECRET' },
      { line: 10, code: 'CONFIG_MISSING_KEY' },
      { line: 16, code: 'CONFIG_UNKNOWN_KEY' },
    ]);
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
    expect(output()).toContain(
      'error PREFLIGHT_CHANGE_TRACKING flows.contacts.table: change tracking is disabled on contact',
    );
    expect(output()).toContain('live checks: 2 run');
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

  it('skips checks that do not apply and turns a thrown error into a redacted finding', async () => {
    const notApplicable: LiveCheck = { ...failing, appliesTo: () => false };
    const throwing: LiveCheck = {
      name: 'campaign-metadata',
      run: ({ config }) => Promise.reject(new Error(`IMS refused ${config.campaign.clientSecret.reveal()}`)),
    };
    const { context, output } = captureContext(buildTestEnv());
    const code = await runValidate({ config: validFile, liveChecks: [notApplicable, throwing] }, context);
    expect(code).toBe(exitCodes.preflight);
    expect(output()).toContain(
      'error PREFLIGHT_CHECK_FAILED (root): live check campaign-metadata failed: IMS refused [redacted]',
    );
    expect(output()).not.toContain('test-campaign-secret');
  });
});

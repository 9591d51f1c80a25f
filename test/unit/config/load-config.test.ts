import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigFinding } from '../../../src/config/config-finding.js';
import { loadConfig, parseConfigText, type ConfigLoadResult } from '../../../src/config/load-config.js';
import type { ResolvedConfig } from '../../../src/config/resolved-config.js';
import { Secret } from '../../../src/config/secret.js';
import { Redactor } from '../../../src/logging/redactor.js';
import { buildTestEnv, minimalConfigYaml } from './support/config-builders.js';

function parse(text: string, env = buildTestEnv(), baseDir?: string): ConfigLoadResult {
  return parseConfigText(text, 'sync.yaml', {
    env,
    redactor: new Redactor(),
    ...(baseDir ? { baseDir } : {}),
  });
}

function errorsOf(result: ConfigLoadResult): ConfigFinding[] {
  return result.findings.filter((finding) => finding.severity === 'error');
}

function configOf(result: ConfigLoadResult): ResolvedConfig {
  if (!result.ok) throw new Error(`expected a valid config, got ${JSON.stringify(result.findings, null, 2)}`);
  return result.config;
}

function replaceLine(text: string, from: string, to: string): string {
  expect(text).toContain(from);
  return text.replace(from, to);
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dcsync-config-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('loadConfig', () => {
  it('accepts the minimal file and applies the documented defaults', () => {
    const config = configOf(parse(minimalConfigYaml));
    expect(config.dynamics.authorityHost).toBe('https://login.microsoftonline.com');
    expect(config.dynamics.maxConcurrency).toBe(4);
    expect(config.dynamics.pageSize).toBe(5000);
    expect(config.campaign.organization).toBe('contoso');
    expect(config.campaign.imsUrl).toBe('https://ims-na1.adobelogin.com');
    expect(config.campaign.profileResource).toBe('profileAndServicesExt');
    expect(config.campaign.externalIdFilter).toBe('byExternalId');
    expect(config.campaign.budget.adaptive).toBe(true);
    // Relative to the file's folder (parseConfigText's baseDir, here the working directory).
    expect(config.store.url).toBe(`sqlite:${resolve('data/state.db')}`);
    expect(config.engine).toEqual({
      workers: 8,
      leaseMs: 60_000,
      pollIntervalMs: 5000,
      retry: {
        initialDelayMs: 1000,
        maxDelayMs: 60_000,
        multiplier: 2,
        maxAttempts: 10,
        jitter: 'full',
        maxThrottledMs: 86_400_000,
      },
      breaker: { maxShare: 0.2, minRecords: 1000 },
    });
    expect(config.flows.contacts).toMatchObject({
      enabled: true,
      table: 'contact',
      deletes: false,
      deleteWhenFilteredOut: false,
    });
    expect(config.flows.contacts.mapping.firstname).toEqual({
      to: 'firstName',
      applyOnUpdate: true,
      replacements: [],
    });
    expect(config.flows.customTables).toEqual([]);
    expect(config.flows.optOut.mode).toBe('disabled');
    expect(config.flows.optOut.file).toEqual({
      pollIntervalMs: 60_000,
      stableChecks: 2,
      stalenessHours: 26,
      retentionDays: 15,
      afterProcessing: 'archive',
      batchSize: 100,
      maxLineBytes: 65_536,
      requireTrailer: false,
      incompleteAfterMinutes: 60,
      maxAttempts: 10,
    });
    expect(config.privacy).toBeUndefined();
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(config.alerts).toEqual({ webhooks: [], dedupeMinutes: 60 });
    expect(config.logging.level).toBe('info');
  });

  it('resolves secrets into Secret objects, registers them with the redactor and freezes the result', () => {
    const redactor = new Redactor();
    const result = parseConfigText(minimalConfigYaml, 'sync.yaml', { env: buildTestEnv(), redactor });
    const config = configOf(result);
    expect(config.dynamics.clientId).toBe('11111111-2222-3333-4444-555555555555');
    expect(config.campaign.clientSecret).toBeInstanceOf(Secret);
    expect(config.campaign.clientSecret.reveal()).toBe('test-campaign-secret');
    expect(config.campaign.clientSecret.source).toBe('env:CAMPAIGN_CLIENT_SECRET');
    expect(redactor.scrub('x test-campaign-secret y test-admin-token')).toBe('x [redacted] y [redacted]');
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.flows.contacts.mapping.firstname)).toBe(true);
    expect(() => {
      (config.engine as { workers: number }).workers = 99;
    }).toThrow(TypeError);
  });

  it('reports three different mistakes at once, each at its own line', () => {
    const text = [
      'dynamics:',
      '  url: https://contoso.crm.dynamics.com',
      '  tenantId: 00000000-0000-0000-0000-000000000000',
      '  clientId: env:DYNAMICS_CLIENT_ID',
      '  clientSecret: s3cr3t-literal-value', // 5: literal secret (schema)
      'campaign:',
      '  url: https://mc.adobe.io/contoso',
      '  clientId: env:CAMPAIGN_CLIENT_ID',
      '  clientSecret: env:CAMPAIGN_CLIENT_SECRET',
      '  budget: { callsPerSecond: 20, callsPerDay: 500000 }',
      'flows:',
      '  contacts:',
      '    mapping: { firstname: firstName, lastname: lastName, emailaddress1: email }',
      '  optOut:',
      '    mode: dynamics-to-campaign',
      '    mapping: { donotemail: emailOptOut }', // 16: opt-out target not allowed (lint)
      'server:',
      '  adminToken: env:DCSYNC_ADMIN_TOKEN',
      '  prot: 8080', // 19: unknown key with a hint
      '',
    ].join('\n');
    const result = parse(text);
    expect(result.ok).toBe(false);
    const errors = errorsOf(result).map(({ line, code, path }) => ({ line, code, path }));
    expect(errors).toEqual([
      { line: 5, code: 'CONFIG_LITERAL_SECRET', path: 'dynamics.clientSecret' },
      { line: 16, code: 'CONFIG_OPTOUT_TARGET', path: 'flows.optOut.mapping.donotemail' },
      { line: 19, code: 'CONFIG_UNKNOWN_KEY', path: 'server.prot' },
    ]);
    expect(errorsOf(result)[2]!.message).toContain('did you mean "port"?');
    expect(errorsOf(result).every((finding) => finding.file === 'sync.yaml')).toBe(true);
  });

  it('rejects a literal secret without repeating it', () => {
    const text = replaceLine(
      minimalConfigYaml,
      'clientSecret: env:CAMPAIGN_CLIENT_SECRET',
      'clientSecret: hunter2-do-not-print',
    );
    const result = parse(text);
    const [error] = errorsOf(result);
    expect(error).toMatchObject({
      code: 'CONFIG_LITERAL_SECRET',
      path: 'campaign.clientSecret',
      line: 9,
      message: 'literal secrets are not allowed; use env:NAME or file:/path',
    });
    expect(JSON.stringify(result.findings)).not.toContain('hunter2');
  });

  it('reports a missing secret field and a malformed reference', () => {
    const text = replaceLine(
      minimalConfigYaml,
      'clientSecret: env:CAMPAIGN_CLIENT_SECRET',
      'clientSecret: env:1BAD',
    ).replace('  adminToken: env:DCSYNC_ADMIN_TOKEN\n', '  port: 9000\n');
    expect(errorsOf(parse(text)).map(({ code, path, message }) => ({ code, path, message }))).toEqual([
      {
        code: 'CONFIG_BAD_REFERENCE',
        path: 'campaign.clientSecret',
        message: 'env: references need a variable name like env:CAMPAIGN_CLIENT_SECRET',
      },
      { code: 'CONFIG_MISSING_KEY', path: 'server.adminToken', message: 'is required' },
    ]);
  });

  it('names a missing or empty environment variable, never a value', () => {
    const env = buildTestEnv({ DCSYNC_ADMIN_TOKEN: '' });
    delete env.CAMPAIGN_CLIENT_SECRET;
    const result = parse(minimalConfigYaml, env);
    expect(errorsOf(result).map(({ code, path, line, message }) => ({ code, path, line, message }))).toEqual([
      {
        code: 'CONFIG_SECRET_ENV_MISSING',
        path: 'campaign.clientSecret',
        line: 9,
        message: 'environment variable CAMPAIGN_CLIENT_SECRET is not set',
      },
      {
        code: 'CONFIG_SECRET_ENV_MISSING',
        path: 'server.adminToken',
        line: 15,
        message: 'environment variable DCSYNC_ADMIN_TOKEN is empty',
      },
    ]);
  });

  it('reports a missing variable even when the same section has a schema error', () => {
    const text = replaceLine(minimalConfigYaml, 'tenantId: 0', 'tenantid: 0');
    const env = buildTestEnv();
    delete env.DYNAMICS_CLIENT_SECRET;
    const codes = errorsOf(parse(text, env)).map((finding) => finding.code);
    expect(codes).toEqual(['CONFIG_MISSING_KEY', 'CONFIG_UNKNOWN_KEY', 'CONFIG_SECRET_ENV_MISSING']);
  });

  it('reads file: references relative to the config folder and warns about loose permissions', () => {
    const keyFile = join(dir, 'sftp_key');
    const pem =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
    writeFileSync(keyFile, pem);
    chmodSync(keyFile, 0o644);
    const tokenFile = join(dir, 'admin-token');
    writeFileSync(tokenFile, 'token-from-file\n');
    chmodSync(tokenFile, 0o600);
    const text = replaceLine(
      minimalConfigYaml,
      'adminToken: env:DCSYNC_ADMIN_TOKEN',
      'adminToken: file:admin-token',
    ).replace(
      '  budget:',
      '  sftp: { host: h, username: u, privateKey: file:sftp_key, hostKeySha256: "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU" }\n  budget:',
    );
    const redactor = new Redactor();
    const result = parseConfigText(text, 'sync.yaml', { env: buildTestEnv(), redactor, baseDir: dir });
    const config = configOf(result);
    expect(config.server.adminToken.reveal()).toBe('token-from-file');
    expect(config.campaign.sftp?.privateKey?.reveal()).toBe(pem);
    expect(result.findings).toEqual([
      expect.objectContaining({
        severity: 'warning',
        code: 'CONFIG_SECRET_FILE_PERMISSIONS',
        path: 'campaign.sftp.privateKey',
        line: 10,
      }),
    ]);
    expect(redactor.scrub('leak b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAA')).toBe('leak [redacted]');
  });

  it('resolves a relative sqlite: store path against the configuration file, not the working directory', () => {
    const folder = join(dir, 'relative-store');
    mkdirSync(folder, { recursive: true });
    const file = join(folder, 'sync.yaml');
    writeFileSync(file, `${minimalConfigYaml}\nstore: { url: "sqlite:./state/sync.db" }\n`);
    expect(process.cwd()).not.toBe(folder);
    const config = configOf(loadConfig(file, { env: buildTestEnv(), redactor: new Redactor() }));
    expect(config.store.url).toBe(`sqlite:${join(folder, 'state', 'sync.db')}`);
    // Absolute paths, the in-memory store and PostgreSQL are left as written.
    for (const url of [
      `sqlite:${join(tmpdir(), 'abs.db')}`,
      'sqlite::memory:',
      'postgres://dcsync@db/dcsync',
    ]) {
      writeFileSync(file, `${minimalConfigYaml}\nstore: { url: "${url}" }\n`);
      expect(configOf(loadConfig(file, { env: buildTestEnv(), redactor: new Redactor() })).store.url).toBe(
        url,
      );
    }
  });

  it('names an unreadable secret file', () => {
    const text = replaceLine(minimalConfigYaml, 'env:DCSYNC_ADMIN_TOKEN', 'file:/nonexistent/dcsync/token');
    expect(errorsOf(parse(text))).toEqual([
      expect.objectContaining({
        code: 'CONFIG_SECRET_FILE_UNREADABLE',
        path: 'server.adminToken',
        message: 'cannot read file /nonexistent/dcsync/token (ENOENT)',
      }),
    ]);
  });

  it('leaves secrets unread when asked, and says so when one is revealed', () => {
    const result = parseConfigText(minimalConfigYaml, 'sync.yaml', {
      env: {},
      redactor: new Redactor(),
      resolveSecrets: false,
    });
    const config = configOf(result);
    expect(config.dynamics.clientId).toBe('env:DYNAMICS_CLIENT_ID');
    expect(config.server.adminToken.isResolved).toBe(false);
    expect(() => config.server.adminToken.reveal()).toThrow(/env:DCSYNC_ADMIN_TOKEN was not resolved/);
  });

  it('suggests the intended key for a misspelt one', () => {
    const text = replaceLine(minimalConfigYaml, '  contacts:', '  contact:');
    const errors = errorsOf(parse(text));
    expect(errors).toContainEqual(
      expect.objectContaining({
        code: 'CONFIG_UNKNOWN_KEY',
        path: 'flows.contact',
        line: 12,
        message: 'unknown key "contact" (did you mean "contacts"?)',
      }),
    );
    expect(errors).toContainEqual(
      expect.objectContaining({ code: 'CONFIG_MISSING_KEY', path: 'flows.contacts' }),
    );
  });

  it('reports YAML syntax errors with their line and without quoting the source', () => {
    const text = replaceLine(
      minimalConfigYaml,
      '  tenantId: 00000000-0000-0000-0000-000000000000',
      '  tenantId: zebulon.canary@example.test: Zebulon Quixotefield',
    );
    const errors = errorsOf(parse(text));
    expect(errors).toEqual([
      expect.objectContaining({
        code: 'CONFIG_YAML_SYNTAX',
        line: 3,
        message: 'YAML syntax error: Nested mappings are not allowed in compact mappings',
      }),
    ]);
    expect(JSON.stringify(errors)).not.toMatch(/zebulon|quixote/i);
  });

  it('rejects a key defined twice (a Dynamics column mapped twice)', () => {
    const text = replaceLine(
      minimalConfigYaml,
      'mapping: { firstname: firstName, lastname: lastName, emailaddress1: email }',
      'mapping: { firstname: firstName, firstname: lastName }',
    );
    expect(errorsOf(parse(text))).toEqual([
      expect.objectContaining({
        code: 'CONFIG_YAML_SYNTAX',
        line: 13,
        message: expect.stringMatching(/twice/) as string,
      }),
    ]);
  });

  it('rejects bad bounds and shapes with a message naming what is expected', () => {
    const text = `${minimalConfigYaml}engine:
  retry: { initialDelayMs: 5000, maxDelayMs: 1000, multiplier: 0.5 }
store: { url: "postgres://dcsync:pw@db/dcsync" }
`;
    const errors = errorsOf(parse(text));
    expect(errors.map(({ code, path, line }) => ({ code, path, line }))).toEqual([
      { code: 'CONFIG_RETRY_BOUNDS', path: 'engine.retry.initialDelayMs', line: 17 },
      { code: 'CONFIG_OUT_OF_RANGE', path: 'engine.retry.multiplier', line: 17 },
      { code: 'CONFIG_LITERAL_SECRET', path: 'store.url', line: 18 },
    ]);
    expect(errors[1]!.message).toBe('must be ≥ 1');
    expect(JSON.stringify(errors)).not.toContain(':pw@');

    const bounds = `${minimalConfigYaml}engine:\n  retry: { initialDelayMs: 5000, maxDelayMs: 1000 }\n`;
    expect(errorsOf(parse(bounds))).toEqual([
      expect.objectContaining({
        code: 'CONFIG_RETRY_BOUNDS',
        path: 'engine.retry.initialDelayMs',
        message: 'initialDelayMs must not exceed maxDelayMs',
      }),
    ]);
  });

  it('requires exactly one SFTP credential and a well-formed host key', () => {
    const text = minimalConfigYaml.replace(
      '  budget:',
      '  sftp: { host: h, username: u, privateKey: env:A, password: env:B, hostKeySha256: "SHA256:short" }\n  budget:',
    );
    const errors = errorsOf(parse(text, buildTestEnv({ A: 'aaaa', B: 'bbbb' })));
    expect(errors.map(({ path, message }) => ({ path, message }))).toEqual([
      { path: 'campaign.sftp', message: 'set exactly one of privateKey or password' },
      {
        path: 'campaign.sftp.hostKeySha256',
        message: 'must be a host key fingerprint like SHA256:<43 base64 characters>',
      },
    ]);
    const keyOnly = text
      .replace('SHA256:short', 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU')
      .replace(', password: env:B', '');
    expect(errorsOf(parse(keyOnly, buildTestEnv({ A: 'aaaa' })))).toEqual([]);
  });

  it('rejects an empty file and a file that is not a mapping', () => {
    expect(errorsOf(parse('# nothing here\n'))).toEqual([expect.objectContaining({ code: 'CONFIG_EMPTY' })]);
    expect(errorsOf(parse('- a\n- b\n'))).toEqual([expect.objectContaining({ code: 'CONFIG_INVALID_TYPE' })]);
  });

  it('reports an unreadable configuration file', () => {
    const result = loadConfig(join(dir, 'missing.yaml'), { env: {}, redactor: new Redactor() });
    expect(result).toEqual({
      ok: false,
      findings: [
        expect.objectContaining({
          code: 'CONFIG_FILE_UNREADABLE',
          message: expect.stringMatching(/ENOENT/) as string,
        }),
      ],
    });
  });

  it('validates examples/sync.yaml, which covers every section', () => {
    const result = loadConfig('examples/sync.yaml', { env: buildTestEnv(), redactor: new Redactor() });
    const config = configOf(result);
    expect(result.findings.filter((finding) => finding.severity !== 'info')).toEqual([]);
    expect(Object.keys(config).sort()).toEqual(
      [
        'alerts',
        'campaign',
        'dynamics',
        'engine',
        'flows',
        'history',
        'health',
        'logging',
        'privacy',
        'server',
        'store',
        'workers',
      ].sort(),
    );
    expect(config.flows.customTables.map((table) => table.resource)).toEqual([
      'cusMembership',
      'cusMembershipCard',
      'cusStore',
    ]);
    expect(config.dynamics.webhook?.key.reveal()).toBe('test-webhook-key');
    expect(config.alerts.webhooks[0]?.url.reveal()).toBe('https://hooks.example.test/services/T0/B0/XYZ');
  });
});

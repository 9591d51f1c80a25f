import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Redactor } from '../logging/redactor.js';
import { PlainRef, SecretRef } from './config-ref.js';
import type { ConfigFinding, ConfigPath, LocateConfigPath } from './config-finding.js';
import { createFinding } from './config-finding.js';
import { Secret } from './secret.js';

/** Options for {@link resolveConfigRefs}. */
export interface ResolveConfigRefsOptions {
  /** Where `env:NAME` references are looked up. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Every resolved secret is registered here so it never appears in output. */
  readonly redactor: Redactor;
  /** Relative `file:` paths are resolved against this folder (the config file's folder). */
  readonly baseDir: string;
  /**
   * Read the environment and files. `false` leaves secrets unresolved ({@link Secret.reveal} throws)
   * and plain references as their text, for commands that never contact a remote.
   * @default true
   */
  readonly resolveSecrets?: boolean;
  readonly locate?: LocateConfigPath;
}

type Outcome = { ok: true; value: string } | { ok: false };

/** Multi-line values (PEM keys) keep their bytes; a single line loses its trailing newline. */
function trimFileValue(content: string): string {
  const trimmed = content.replace(/\r?\n$/, '');
  return /[\r\n]/.test(trimmed) ? content : trimmed;
}

function registerSecret(redactor: Redactor, value: string): void {
  redactor.addSecret(value);
  // A key might leak one line at a time (e.g. a wrapped error message); register long lines too.
  for (const line of value.split(/\r?\n/)) {
    const body = line.trim();
    if (body.length >= 16 && !body.startsWith('-----')) redactor.addSecret(body);
  }
}

/**
 * Replace every {@link SecretRef} and {@link PlainRef} in a parsed configuration by its value,
 * reporting each missing variable or unreadable file with the field's path and the variable or
 * file name (never a value). Returns a new tree; the input is not modified.
 */
export function resolveConfigRefs(
  value: unknown,
  options: ResolveConfigRefsOptions,
): { value: unknown; findings: ConfigFinding[] } {
  const findings: ConfigFinding[] = [];
  const resolveSecrets = options.resolveSecrets ?? true;

  const report = (severity: 'error' | 'warning', code: string, path: ConfigPath, message: string): void => {
    findings.push(createFinding(severity, code, path, message, options.locate));
  };

  const read = (ref: SecretRef | PlainRef, path: ConfigPath): Outcome => {
    if (ref.scheme === 'literal') return { ok: true, value: ref.target };
    if (ref.scheme === 'env') {
      const found = options.env[ref.target];
      if (found === undefined) {
        report('error', 'CONFIG_SECRET_ENV_MISSING', path, `environment variable ${ref.target} is not set`);
        return { ok: false };
      }
      if (found === '') {
        report('error', 'CONFIG_SECRET_ENV_MISSING', path, `environment variable ${ref.target} is empty`);
        return { ok: false };
      }
      return { ok: true, value: found };
    }
    const file = isAbsolute(ref.target) ? ref.target : resolve(options.baseDir, ref.target);
    let content: string;
    try {
      content = readFileSync(file, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      report('error', 'CONFIG_SECRET_FILE_UNREADABLE', path, `cannot read file ${file} (${reason})`);
      return { ok: false };
    }
    if (ref instanceof SecretRef && process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0)
      report(
        'warning',
        'CONFIG_SECRET_FILE_PERMISSIONS',
        path,
        `file ${file} is readable by group or others; restrict it with chmod 600`,
      );
    const text = trimFileValue(content);
    if (text === '') {
      report('error', 'CONFIG_SECRET_FILE_UNREADABLE', path, `file ${file} is empty`);
      return { ok: false };
    }
    return { ok: true, value: text };
  };

  const walk = (node: unknown, path: ConfigPath): unknown => {
    if (node instanceof SecretRef) {
      if (!resolveSecrets) return new Secret(undefined, node.describe());
      const outcome = read(node, path);
      if (!outcome.ok) return new Secret(undefined, node.describe());
      registerSecret(options.redactor, outcome.value);
      return new Secret(outcome.value, node.describe());
    }
    if (node instanceof PlainRef) {
      if (!resolveSecrets) return node.describe();
      const outcome = read(node, path);
      return outcome.ok ? outcome.value : node.describe();
    }
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
    if (node !== null && typeof node === 'object' && !(node instanceof Secret)) {
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(node)) out[key] = walk(child, [...path, key]);
      return out;
    }
    return node;
  };

  return { value: walk(value, []), findings };
}

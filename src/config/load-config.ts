import { accessSync, constants, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { Redactor } from '../logging/redactor.js';
import type { ConfigFinding, ConfigPath, LocateConfigPath } from './config-finding.js';
import { createFinding, hasErrors } from './config-finding.js';
import { configSchema, configSections } from './config-schema.js';
import { lintConfig, type LintableConfig } from './lint-config.js';
import { resolveConfigRefs } from './resolve-config-refs.js';
import { salvageSoundParts } from './schema-introspection.js';
import type { ResolvedConfig } from './resolved-config.js';
import { createYamlLocator } from './yaml-source-map.js';
import { configErrorMap, findingsFromZodIssues } from './zod-issue-findings.js';

/** Options for {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Where `env:NAME` references are looked up. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Resolved secrets are registered here, so logs and messages never show them. */
  readonly redactor: Redactor;
  /**
   * Read secrets from the environment and files. `false` validates references without reading
   * them (their `Secret.reveal()` throws), for commands that contact no remote.
   * @default true
   */
  readonly resolveSecrets?: boolean;
}

/** Options for {@link parseConfigText}. */
export interface ParseConfigTextOptions extends LoadConfigOptions {
  /** Folder that relative `file:` references, `caFile` paths and `sqlite:` store paths are resolved against. @default process.cwd() */
  readonly baseDir?: string;
}

/**
 * The outcome of loading a configuration: either a frozen {@link ResolvedConfig} (possibly with
 * warnings and notes) or every finding, errors included.
 */
export type ConfigLoadResult =
  | {
      readonly ok: true;
      readonly config: ResolvedConfig;
      readonly findings: readonly ConfigFinding[];
      /** Where a configuration path sits in the file (for live checks that name a line). */
      readonly locate?: LocateConfigPath;
    }
  | { readonly ok: false; readonly findings: readonly ConfigFinding[] };

/** YAML messages may quote source text (a secret, a name); keep only the generic part. */
function describeYamlError(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY')
    return 'a key appears twice in the same mapping (each key, and each mapped column, once)';
  const generic = message
    .split(/:\s/)[0]!
    .split(/ at line \d+/)[0]!
    .trim();
  return `YAML syntax error: ${generic.slice(0, 120)}`;
}

function yamlFindings(document: Document, lineCounter: LineCounter): ConfigFinding[] {
  const fromYaml = (
    severity: 'error' | 'warning',
    error: (typeof document.errors)[number],
  ): ConfigFinding => {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    return {
      severity,
      code: severity === 'error' ? 'CONFIG_YAML_SYNTAX' : 'CONFIG_YAML_WARNING',
      path: '',
      message: describeYamlError(error.code, error.message),
      line,
      column: col,
    };
  };
  return [
    ...document.errors.map((error) => fromYaml('error', error)),
    ...document.warnings.map((warning) => fromYaml('warning', warning)),
  ];
}

/** How many nodes one alias may expand to; a configuration needs a handful, a "billion laughs" billions. */
const maxAliasExpansion = 100;

/** The finding for aliases that would expand without bound, at the first alias's line. */
function aliasBombFinding(document: Document, lineCounter: LineCounter): ConfigFinding {
  let first: number | null = null;
  let count = 0;
  visit(document, {
    Alias(_, node) {
      count += 1;
      if (first === null && node.range) first = node.range[0];
    },
  });
  const at = first === null ? null : lineCounter.linePos(first);
  return {
    severity: 'error',
    code: 'CONFIG_YAML_ALIASES',
    path: '',
    message: `YAML aliases expand too far (${count} aliases; one alias may stand for at most ${maxAliasExpansion} nodes): write the values out instead of nesting aliases`,
    ...(at ? { line: at.line, column: at.col } : {}),
  };
}

function valueAt(root: unknown, path: ConfigPath): unknown {
  let node = root;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}

function setAt(root: Record<string, unknown>, path: ConfigPath, value: unknown): void {
  let node = root;
  path.forEach((segment, index) => {
    if (index === path.length - 1) node[segment] = value;
    else node = (node[segment] ??= {}) as Record<string, unknown>;
  });
}

/** When the whole file fails the schema, keep every section that is sound on its own (for lint). */
function parseSoundSections(raw: unknown): LintableConfig {
  const partial: Record<string, unknown> = {};
  for (const section of configSections) {
    const result = section.schema.safeParse(valueAt(raw, section.path), { error: configErrorMap });
    if (result.success && result.data !== undefined) setAt(partial, section.path, result.data);
  }
  return partial;
}

/** When the whole file fails the schema, every sound leaf, so its references are still checked. */
function salvageReferences(raw: unknown): Record<string, unknown> {
  const salvaged: Record<string, unknown> = {};
  for (const part of salvageSoundParts(configSchema, raw)) setAt(salvaged, part.path, part.value);
  return salvaged;
}

/** Extra CA files: made absolute, and checked readable when secrets are read too. */
function resolveCaFiles(
  config: Record<string, unknown>,
  baseDir: string,
  check: boolean,
  locate: LocateConfigPath,
): ConfigFinding[] {
  const findings: ConfigFinding[] = [];
  for (const section of ['dynamics', 'campaign']) {
    const holder = config[section] as { caFile?: string } | undefined;
    if (holder?.caFile === undefined) continue;
    const file = isAbsolute(holder.caFile) ? holder.caFile : resolve(baseDir, holder.caFile);
    holder.caFile = file;
    if (!check) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      findings.push(
        createFinding(
          'error',
          'CONFIG_FILE_UNREADABLE',
          [section, 'caFile'],
          `cannot read ${file} (${reason})`,
          locate,
        ),
      );
    }
  }
  return findings;
}

/**
 * A relative `sqlite:` store path is relative to the configuration file's folder, as every other
 * path in the file is: made absolute here, once, so every command finds the same store from any
 * working directory. `sqlite::memory:` and PostgreSQL URLs are left as they are.
 */
function resolveSqlitePath(config: Record<string, unknown>, baseDir: string): void {
  const store = config.store as { url?: unknown } | undefined;
  if (typeof store?.url !== 'string' || !store.url.startsWith('sqlite:')) return;
  const path = store.url.slice('sqlite:'.length);
  if (path === '' || path === ':memory:' || path.startsWith('//') || isAbsolute(path)) return;
  store.url = `sqlite:${resolve(baseDir, path)}`;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function byPosition(a: ConfigFinding, b: ConfigFinding): number {
  return (
    (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER) ||
    (a.column ?? 0) - (b.column ?? 0)
  );
}

/**
 * Parse, validate, lint and resolve a configuration held in memory. Every problem is reported at
 * once, each with its YAML path and line; nothing is thrown for a bad file.
 *
 * @param text the YAML source
 * @param sourceName how findings name the file (usually its path)
 */
export function parseConfigText(
  text: string,
  sourceName: string,
  options: ParseConfigTextOptions,
): ConfigLoadResult {
  const baseDir = options.baseDir ?? process.cwd();
  const resolveSecrets = options.resolveSecrets ?? true;
  const source: { locate?: LocateConfigPath } = {};
  const finish = (findings: ConfigFinding[], config?: unknown): ConfigLoadResult => {
    const placed = findings
      .map((finding) => ({ ...finding, file: sourceName, message: options.redactor.scrub(finding.message) }))
      .sort(byPosition);
    if (config === undefined || hasErrors(placed)) return { ok: false, findings: placed };
    return {
      ok: true,
      config: deepFreeze(config) as ResolvedConfig,
      findings: placed,
      ...(source.locate ? { locate: source.locate } : {}),
    };
  };

  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntax = yamlFindings(document, lineCounter);
  if (hasErrors(syntax)) return finish(syntax);
  const locate = createYamlLocator(document, lineCounter);
  source.locate = locate;
  let raw: unknown;
  try {
    raw = document.toJS({ maxAliasCount: maxAliasExpansion });
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    return finish([...syntax, aliasBombFinding(document, lineCounter)]);
  }
  if (raw === null || raw === undefined)
    return finish([...syntax, createFinding('error', 'CONFIG_EMPTY', [], 'the configuration file is empty')]);
  if (typeof raw !== 'object' || Array.isArray(raw))
    return finish([
      ...syntax,
      createFinding('error', 'CONFIG_INVALID_TYPE', [], 'expected a mapping at the top level', locate),
    ]);

  const parsed = configSchema.safeParse(raw, { error: configErrorMap, reportInput: true });
  const schemaFindings = parsed.success
    ? []
    : findingsFromZodIssues(parsed.error.issues, configSchema, raw, locate);
  const lintable: LintableConfig = parsed.success ? parsed.data : parseSoundSections(raw);
  const lintFindings = lintConfig(lintable, { locate });
  const resolved = resolveConfigRefs(parsed.success ? parsed.data : salvageReferences(raw), {
    env: options.env ?? process.env,
    redactor: options.redactor,
    baseDir,
    resolveSecrets,
    locate,
  });
  const config = resolved.value as Record<string, unknown>;
  const fileFindings = resolveCaFiles(config, baseDir, resolveSecrets, locate);
  resolveSqlitePath(config, baseDir);
  return finish(
    [...syntax, ...schemaFindings, ...lintFindings, ...resolved.findings, ...fileFindings],
    parsed.success ? config : undefined,
  );
}

/**
 * Load the configuration file at `path`: YAML → schema → semantic lint → secrets. Relative
 * `file:` references, `caFile` paths and a `sqlite:` store path are resolved against the file's folder.
 */
export function loadConfig(path: string, options: LoadConfigOptions): ConfigLoadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    return {
      ok: false,
      findings: [
        {
          severity: 'error',
          code: 'CONFIG_FILE_UNREADABLE',
          path: '',
          file: path,
          message: `cannot read the configuration file (${reason})`,
        },
      ],
    };
  }
  return parseConfigText(text, path, { ...options, baseDir: dirname(resolve(path)) });
}

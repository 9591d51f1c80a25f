/** How serious a configuration finding is: errors stop `validate` and start-up; the rest inform. */
export const findingSeverities = ['error', 'warning', 'info'] as const;
export type FindingSeverity = (typeof findingSeverities)[number];

/** A path into the configuration: keys and array indexes, e.g. `['flows', 'customTables', 0, 'links']`. */
export type ConfigPath = readonly (string | number)[];

/**
 * One problem (or note) about a configuration file. Findings are data: `validate` prints them all,
 * the HTTP API can serve them, tests match on `code`. Messages name keys, tables, columns, files and
 * environment variables, never the value of a secret or of a record.
 */
export interface ConfigFinding {
  readonly severity: FindingSeverity;
  /** Stable code, e.g. `CONFIG_UNKNOWN_KEY`, `CONFIG_OPTOUT_TARGET` (docs/configuration.md lists them). */
  readonly code: string;
  /** YAML path, e.g. `flows.optOut.mapping.donotemail`, `flows.customTables[1].links[0].target`. */
  readonly path: string;
  readonly message: string;
  /** The configuration file (as given to the loader). */
  readonly file?: string;
  /** 1-based line of the offending key or value. */
  readonly line?: number;
  /** 1-based column. */
  readonly column?: number;
}

/** Where a path sits in the source file, when it is known. */
export type LocateConfigPath = (path: ConfigPath) => { line: number; column: number } | undefined;

/** `flows.customTables[0].links` from `['flows', 'customTables', 0, 'links']`. */
export function formatConfigPath(path: ConfigPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Build a finding, placing it in the source when a locator is given. */
export function createFinding(
  severity: FindingSeverity,
  code: string,
  path: ConfigPath,
  message: string,
  locate?: LocateConfigPath,
): ConfigFinding {
  const position = locate?.(path);
  return {
    severity,
    code,
    path: formatConfigPath(path),
    message,
    ...(position ? { line: position.line, column: position.column } : {}),
  };
}

/** True when any finding is an error. */
export function hasErrors(findings: readonly ConfigFinding[]): boolean {
  return findings.some((finding) => finding.severity === 'error');
}

/** One line for people: `file:line:col severity code path: message`. */
export function formatFinding(finding: ConfigFinding): string {
  const place = [finding.file, finding.line, finding.line === undefined ? undefined : finding.column]
    .filter((part) => part !== undefined)
    .join(':');
  const where = finding.path === '' ? '(root)' : finding.path;
  return `${place === '' ? '' : `${place} `}${finding.severity} ${finding.code} ${where}: ${finding.message}`;
}

/** Count findings per severity. */
export function countFindings(findings: readonly ConfigFinding[]): Record<FindingSeverity, number> {
  const counts: Record<FindingSeverity, number> = { error: 0, warning: 0, info: 0 };
  for (const finding of findings) counts[finding.severity] += 1;
  return counts;
}

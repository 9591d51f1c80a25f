import type { z } from 'zod';
import type { ConfigFinding, ConfigPath, LocateConfigPath } from './config-finding.js';
import { createFinding } from './config-finding.js';
import { formatHint } from './did-you-mean.js';
import { knownKeysAt } from './schema-introspection.js';

type ZodSchema = z.core.$ZodType;
type ZodIssue = z.core.$ZodIssue;
type ZodErrorMap = z.core.$ZodErrorMap;

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value === 'number' && !Number.isInteger(value) ? 'a decimal number' : `a ${typeof value}`;
}

const expectedNames: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  record: 'a mapping',
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
};

function describeBound(
  kind: 'min' | 'max',
  origin: string,
  bound: number | bigint,
  inclusive: boolean | undefined,
): string {
  if (origin === 'array')
    return kind === 'min' ? `needs at least ${bound} item(s)` : `takes at most ${bound} item(s)`;
  if (origin === 'string')
    return kind === 'min' && Number(bound) === 1
      ? 'must not be empty'
      : `must be ${kind === 'min' ? 'at least' : 'at most'} ${bound} characters`;
  const operator = kind === 'min' ? (inclusive === false ? '>' : '≥') : inclusive === false ? '<' : '≤';
  return `must be ${operator} ${bound}`;
}

/**
 * Messages for zod issues that never contain the offending value (it may be a secret or personal
 * data); they say what was expected instead. Passed to `safeParse` so schema-specific messages win.
 */
export const configErrorMap: ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `expected ${expectedNames[issue.expected] ?? issue.expected}, got ${typeName(issue.input)}`;
    case 'too_small':
      return describeBound('min', issue.origin, issue.minimum, issue.inclusive);
    case 'too_big':
      return describeBound('max', issue.origin, issue.maximum, issue.inclusive);
    case 'invalid_value': {
      const allowed = issue.values.map(String);
      const hint = typeof issue.input === 'string' ? formatHint(issue.input, allowed) : '';
      return `must be one of ${allowed.join(', ')}${hint}`;
    }
    case 'invalid_format':
      return issue.format === 'regex' ? 'has an invalid format' : `must be a valid ${issue.format}`;
    case 'invalid_union':
      return 'expected a string, number, true/false or null';
    case 'invalid_key':
      return 'is not a valid key';
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    default:
      return undefined;
  }
};

function findingCodeOf(issue: ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'CONFIG_MISSING_KEY' : 'CONFIG_INVALID_TYPE';
    case 'too_small':
    case 'too_big':
      return 'CONFIG_OUT_OF_RANGE';
    case 'invalid_key':
      return 'CONFIG_INVALID_KEY';
    case 'custom': {
      const code: unknown = issue.params?.findingCode;
      return typeof code === 'string' ? code : 'CONFIG_INVALID_VALUE';
    }
    default:
      return 'CONFIG_INVALID_VALUE';
  }
}

/** Context that helps people find the entry: `(custom table new_order)`. */
function contextOf(path: ConfigPath, raw: unknown): string {
  if (path[0] !== 'flows' || path[1] !== 'customTables' || typeof path[2] !== 'number') return '';
  const tables = (raw as { flows?: { customTables?: unknown } } | null)?.flows?.customTables;
  const entry: unknown = Array.isArray(tables) ? tables[path[2]] : undefined;
  const table = (entry as { table?: unknown } | undefined)?.table;
  return typeof table === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(table)
    ? ` (custom table ${table})`
    : '';
}

/**
 * Turn zod issues into findings: one per problem, unknown keys one per key with a hint, each placed
 * at its line. `raw` is the parsed YAML (used only for naming the custom table concerned).
 */
export function findingsFromZodIssues(
  issues: readonly ZodIssue[],
  schema: ZodSchema,
  raw: unknown,
  locate?: LocateConfigPath,
): ConfigFinding[] {
  const findings: ConfigFinding[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, path);
      for (const key of issue.keys) {
        const keyPath = [...path, key];
        const message = `unknown key "${key}"${formatHint(key, known)}${contextOf(keyPath, raw)}`;
        findings.push(createFinding('error', 'CONFIG_UNKNOWN_KEY', keyPath, message, locate));
      }
      continue;
    }
    if (issue.code === 'invalid_key') {
      const reason = issue.issues[0]?.message ?? issue.message;
      const message = `invalid key: ${reason}${contextOf(path, raw)}`;
      findings.push(createFinding('error', findingCodeOf(issue), path, message, locate));
      continue;
    }
    findings.push(
      createFinding('error', findingCodeOf(issue), path, issue.message + contextOf(path, raw), locate),
    );
  }
  return findings;
}

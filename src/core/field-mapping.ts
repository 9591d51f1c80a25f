import { formatIso } from './clock.js';
import { ConfigError } from './errors.js';
import type { JsonObject, JsonPrimitive, JsonValue } from './json.js';

/** How a Dynamics choice (picklist) value is written: its display label or its technical value. */
export const picklistModes = ['label', 'value'] as const;
export type PicklistMode = (typeof picklistModes)[number];

/** Target value types the converter knows; `any` passes JSON values through. */
export const targetTypes = ['string', 'boolean', 'integer', 'number', 'date', 'datetime', 'any'] as const;
export type TargetType = (typeof targetTypes)[number];

export interface FieldReplacement {
  /** Source value to replace (compared loosely: `1` matches `"1"`, case-insensitive for text). */
  from: JsonPrimitive;
  to: JsonPrimitive;
}

/** One Dynamics column → one Campaign field. */
export interface FieldMappingRule {
  source: string;
  target: string;
  /** `false`: written only on create and on replay/initial load, never on incremental updates. @default true */
  applyOnUpdate: boolean;
  replacements: readonly FieldReplacement[];
  /** @default 'label' (as the original integration's default "use technical values: No") */
  picklist: PicklistMode;
  /** Target type from Campaign metadata; `any` when unknown. @default 'any' */
  targetType: TargetType;
  /** Maximum string length of the target, when known (longer values are rejected, not cut). */
  maxLength?: number | undefined;
}

/** Labels of Dynamics choice columns: column → technical value → label. */
export type OptionLabels = Readonly<Record<string, Readonly<Record<string, string>>>>;

/** Which kind of write the mapped values are for. */
export type MappingMode = 'create' | 'update' | 'full';

export interface MappingProblem {
  source: string;
  target: string;
  /** No value: problems carry field names only (I11). */
  reason: string;
}

export interface MappedRecord {
  fields: JsonObject;
  problems: MappingProblem[];
}

function sameValue(a: JsonValue | undefined, b: JsonPrimitive): boolean {
  if (a === undefined || a === null || b === null) return (a ?? null) === b;
  if (typeof a === 'object') return false;
  return String(a).toLowerCase() === String(b).toLowerCase();
}

/** Dynamics DateTime (ISO-8601) → Campaign datetime `YYYY-MM-DD HH:MM:SS.mmmZ`. */
export function toCampaignDateTime(value: string): string | null {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return null;
  return formatIso(ms).replace('T', ' ');
}

/** A multi-select (choices) value as the Web API reads it: option values joined by commas. */
const multiSelectValue = /^-?\d+(,-?\d+)+$/;

/**
 * The label of a choice value; for a multi-select value (`"1,3"`) the labels of its options
 * joined by `"; "`, as Dataverse formats them. A value without a label stays as it is.
 */
function choiceLabel(raw: JsonPrimitive, labels: Readonly<Record<string, string>>): JsonPrimitive {
  const text = String(raw);
  const single = labels[text];
  if (single !== undefined) return single;
  if (typeof raw !== 'string' || !multiSelectValue.test(raw)) return raw;
  return raw
    .split(',')
    .map((v) => labels[v] ?? v)
    .join('; ');
}

/**
 * Length as Campaign's PostgreSQL `varchar(N)` counts it: characters (code points), not the UTF-16
 * units of `String.length` — an emoji is one character but two units.
 */
export function characterCount(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

function convert(
  value: JsonValue,
  rule: FieldMappingRule,
): { ok: true; value: JsonValue } | { ok: false; reason: string } {
  if (value === null) return { ok: true, value: null };
  switch (rule.targetType) {
    case 'any':
      return { ok: true, value };
    case 'string': {
      const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
      if (
        rule.maxLength !== undefined &&
        text.length > rule.maxLength &&
        characterCount(text) > rule.maxLength
      )
        return { ok: false, reason: `value longer than ${rule.maxLength} characters` };
      return { ok: true, value: text };
    }
    case 'boolean':
      if (typeof value === 'boolean') return { ok: true, value };
      if (value === 0 || value === 1) return { ok: true, value: value === 1 };
      if (value === 'true' || value === 'false') return { ok: true, value: value === 'true' };
      return { ok: false, reason: 'not a boolean' };
    case 'integer': {
      const n = typeof value === 'number' ? value : Number(value);
      if (!Number.isFinite(n)) return { ok: false, reason: 'not a number' };
      return { ok: true, value: Math.trunc(n) };
    }
    case 'number': {
      const n = typeof value === 'number' ? value : Number(value);
      if (!Number.isFinite(n)) return { ok: false, reason: 'not a number' };
      return { ok: true, value: n };
    }
    case 'date': {
      if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(value))
        return { ok: false, reason: 'not a date' };
      return { ok: true, value: value.slice(0, 10) };
    }
    case 'datetime': {
      const out = typeof value === 'string' ? toCampaignDateTime(value) : null;
      return out === null ? { ok: false, reason: 'not a date-time' } : { ok: true, value: out };
    }
  }
}

/** A flow's field mapping, checked once and applied to every record. */
export class FieldMapping {
  readonly rules: readonly FieldMappingRule[];

  constructor(rules: readonly FieldMappingRule[], path = 'mapping') {
    const seenSources = new Map<string, string>();
    const seenTargets = new Map<string, string>();
    for (const rule of rules) {
      const prevTarget = seenSources.get(rule.source);
      if (prevTarget !== undefined)
        throw new ConfigError(
          `${path}: Dynamics column "${rule.source}" is mapped twice (to ${prevTarget} and ${rule.target})`,
        );
      const prevSource = seenTargets.get(rule.target);
      if (prevSource !== undefined)
        throw new ConfigError(
          `${path}: Campaign field "${rule.target}" has two sources (${prevSource} and ${rule.source})`,
        );
      seenSources.set(rule.source, rule.target);
      seenTargets.set(rule.target, rule.source);
    }
    this.rules = Object.freeze([...rules]);
  }

  /** Dynamics columns the mapping reads. */
  sourceColumns(): string[] {
    return this.rules.map((r) => r.source);
  }

  /** Campaign fields the mapping writes. */
  targetFields(): string[] {
    return this.rules.map((r) => r.target);
  }

  /**
   * Map source values to Campaign fields. In `update` mode, rules with `applyOnUpdate: false`
   * are left out; `create` and `full` (initial load, replay) include every rule. Columns absent
   * from `values` are left out (not cleared).
   */
  apply(values: JsonObject, mode: MappingMode, optionLabels: OptionLabels = {}): MappedRecord {
    const fields: JsonObject = {};
    const problems: MappingProblem[] = [];
    for (const rule of this.rules) {
      if (mode === 'update' && !rule.applyOnUpdate) continue;
      if (!(rule.source in values)) continue;
      const raw = values[rule.source] ?? null;
      let value: JsonValue = raw;
      const labels = optionLabels[rule.source];
      if (rule.picklist === 'label' && labels && raw !== null && typeof raw !== 'object')
        value = choiceLabel(raw, labels);
      // A replacement names the value as configured (the label in label mode) or the raw value.
      const replacement =
        rule.replacements.find((r) => sameValue(value, r.from)) ??
        rule.replacements.find((r) => sameValue(raw, r.from));
      if (replacement) value = replacement.to;
      const converted = convert(value, rule);
      if (converted.ok) fields[rule.target] = converted.value;
      else problems.push({ source: rule.source, target: rule.target, reason: converted.reason });
    }
    return { fields, problems };
  }
}

import { z } from 'zod';
import type { ConfigPath } from './config-finding.js';

type ZodSchema = z.core.$ZodType;

interface SchemaDefinition {
  type: string;
  shape?: Record<string, ZodSchema>;
  innerType?: ZodSchema;
  in?: ZodSchema;
  out?: ZodSchema;
  element?: ZodSchema;
  valueType?: ZodSchema;
  options?: readonly ZodSchema[];
}

function definitionOf(schema: ZodSchema): SchemaDefinition {
  return schema._zod.def;
}

/** Strip wrappers (optional, default, pipes of transforms) down to the structural schema. */
function unwrapSchema(schema: ZodSchema): ZodSchema {
  let current = schema;
  for (let depth = 0; depth < 20; depth++) {
    const def = definitionOf(current);
    if (def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in && def.out)
      current = definitionOf(def.in).type === 'transform' ? def.out : def.in;
    else return current;
  }
  return current;
}

/** The keys an object schema accepts at `path`, for "did you mean" hints. */
export function knownKeysAt(schema: ZodSchema, path: ConfigPath): string[] {
  let current: ZodSchema | undefined = unwrapSchema(schema);
  for (const segment of path) {
    if (!current) return [];
    const def = definitionOf(current);
    if (def.type === 'object' && def.shape) current = def.shape[String(segment)];
    else if (def.type === 'array') current = def.element;
    else if (def.type === 'record') current = def.valueType;
    else return [];
    current = current && unwrapSchema(current);
  }
  if (!current) return [];
  const def = definitionOf(current);
  return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/**
 * The parts of `raw` that `schema` accepts, down to single properties: a failed object is retried
 * key by key, a failed list item by item. Used to keep checking the sound parts of a broken file
 * (e.g. to report a missing environment variable next to a typo in the same section).
 */
export function salvageSoundParts(
  schema: ZodSchema,
  raw: unknown,
  path: ConfigPath = [],
): { path: ConfigPath; value: unknown }[] {
  const whole = z.safeParse(schema, raw);
  if (whole.success) return [{ path, value: whole.data }];
  const structure = unwrapSchema(schema);
  const def = definitionOf(structure);
  if (raw === null || typeof raw !== 'object') return [];
  const entries = Object.entries(raw as Record<string, unknown>);
  if (def.type === 'object' && def.shape && !Array.isArray(raw))
    return entries.flatMap(([key, child]) => {
      const childSchema = def.shape?.[key];
      return childSchema ? salvageSoundParts(childSchema, child, [...path, key]) : [];
    });
  if (def.type === 'array' && def.element && Array.isArray(raw))
    return raw.flatMap((item, index) => salvageSoundParts(def.element!, item, [...path, index]));
  if (def.type === 'record' && def.valueType && !Array.isArray(raw))
    return entries.flatMap(([key, child]) => salvageSoundParts(def.valueType!, child, [...path, key]));
  return [];
}

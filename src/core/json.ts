import { z } from 'zod';

/** JSON values as they are stored in the state store and sent over the wire. */
export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A plain object (not null, not an array), e.g. a parsed JSON body. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Any JSON value (a stored payload is JSON by construction; this checks its shape on read). */
export const jsonValueSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(jsonValueSchema),
    z.record(z.string(), jsonValueSchema),
  ]),
);

/** A JSON object. */
export const jsonObjectSchema: z.ZodType<JsonObject> = z.record(z.string(), jsonValueSchema);

/**
 * Parse JSON text. What `JSON.parse` returns is a JSON value by definition, so this is the one
 * place that says so; callers still check its shape with their schema where it matters.
 */
export function parseJson(text: string): JsonValue {
  const value: unknown = JSON.parse(text);
  return value as JsonValue;
}

import { z } from 'zod';
import { SyncError } from '../../core/errors.js';

/** Largest page any list answers. */
export const maxPageSize = 500;

/** `?cursor=&limit=` of every list route. @default limit 50 */
export const pageQuerySchema = z.object({
  cursor: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(maxPageSize).default(50),
});

/** One id list of a bulk action: 1–500 store ids. */
export const idListSchema = z.strictObject({
  ids: z
    .array(z.string().regex(/^\d{1,19}$/, 'must be a store id (digits)'))
    .min(1)
    .max(maxPageSize),
});

/**
 * Validate a query, body or path against `schema`. Problems become one 400 naming each field and
 * what is wrong; values are never echoed (they may be personal data or secrets).
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: 'query' | 'body' | 'path',
): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.length > 0 ? `${where}.${issue.path.join('.')}` : where;
    return `${path}: ${issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message}`;
  });
  throw new SyncError('BAD_REQUEST', problems.join('; '));
}

/** Drop undefined members (exactOptionalPropertyTypes-friendly filters). */
export function definedOnly<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

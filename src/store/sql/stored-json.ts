import type { z } from 'zod';
import { StoreError } from '../../core/errors.js';

/**
 * Read a JSON column back through its schema: a value that does not fit is `STORE_CORRUPT`,
 * naming what was read (`what`), never a cast.
 */
export function parseStoredJson<T>(schema: z.ZodType<T>, text: string, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new StoreError('STORE_CORRUPT', `${what} is not JSON`);
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  throw new StoreError(
    'STORE_CORRUPT',
    `${what} does not hold what this version expects (${parsed.error.issues[0]?.message ?? 'invalid'})`,
  );
}

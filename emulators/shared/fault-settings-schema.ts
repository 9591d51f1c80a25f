import { z } from 'zod';
import type { FaultSettings } from './fault-injector.js';

/** Admin-API body for a partial {@link FaultSettings} update; unknown keys are refused. */
export const faultSettingsSchema = z
  .object({
    latencyMs: z.number().nonnegative(),
    latencyJitterMs: z.number().nonnegative(),
    errorRate: z.number().min(0).max(1),
    errorStatus: z.number().int().min(500).max(599),
    errorNext: z.number().int().nonnegative(),
    dropRate: z.number().min(0).max(1),
    dropNext: z.number().int().nonnegative(),
    hangRate: z.number().min(0).max(1),
    hangNext: z.number().int().nonnegative(),
    pathPattern: z.string(),
  })
  .partial()
  .strict() satisfies z.ZodType<Partial<Record<keyof FaultSettings, unknown>>>;

/** Drop undefined members (zod's `partial()` output) for `exactOptionalPropertyTypes` targets. */
export function definedOnly<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

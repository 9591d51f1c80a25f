import { z } from 'zod';
import { jsonObjectSchema, type JsonObject } from './json.js';

/** Where a change came from: the first full read, a delta read, an operator replay, a re-baseline. */
export const changeOrigins = ['initial', 'delta', 'replay', 'rebaseline'] as const;
export type ChangeOrigin = (typeof changeOrigins)[number];

/** The newest state of a source record, as staged in the inbox (the work item payload). */
export interface UpsertChange {
  op: 'upsert';
  origin: ChangeOrigin;
  /** Column values as read from Dynamics (selected columns plus lookup `_x_value` columns). */
  values: JsonObject;
  /** Dynamics record-level change time (`modifiedon`), ISO-8601, when known. */
  modifiedOn: string | null;
}

/** The source record is gone. */
export interface DeleteChange {
  op: 'delete';
  origin: ChangeOrigin;
  /** Why: deleted in the source, or it left the record filter. */
  reason: 'deleted' | 'missing-after-rebaseline';
}

export type RecordChange = UpsertChange | DeleteChange;

/**
 * The payload schema of record flows (F1, F2): a work item's stored payload is read back through it,
 * so a malformed payload is a clear error naming the record, never a cast.
 */
export const recordChangeSchema: z.ZodType<RecordChange> = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('upsert'),
    origin: z.enum(changeOrigins),
    values: jsonObjectSchema,
    modifiedOn: z.string().nullable(),
  }),
  z.object({
    op: z.literal('delete'),
    origin: z.enum(changeOrigins),
    reason: z.enum(['deleted', 'missing-after-rebaseline']),
  }),
]);

/** Whether the change is part of a bulk load whose "apply on create/replay only" fields must be written. */
export function isFullWrite(change: RecordChange): boolean {
  return change.origin === 'initial' || change.origin === 'replay' || change.origin === 'rebaseline';
}

/** A record change as a stored work-item payload (JSON; read back through {@link recordChangeSchema}). */
export function recordChangePayload(change: RecordChange): JsonObject {
  return change.op === 'upsert'
    ? { op: change.op, origin: change.origin, values: change.values, modifiedOn: change.modifiedOn }
    : { op: change.op, origin: change.origin, reason: change.reason };
}

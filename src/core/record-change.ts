import type { JsonObject } from './json.js';

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

/** Narrow an untyped stored payload back to a {@link RecordChange}; throws on a malformed payload. */
export function parseRecordChange(payload: unknown): RecordChange {
  if (typeof payload === 'object' && payload !== null && !Array.isArray(payload)) {
    const p = payload as Record<string, unknown>;
    if (p.op === 'upsert' && typeof p.values === 'object' && p.values !== null)
      return p as unknown as UpsertChange;
    if (p.op === 'delete') return p as unknown as DeleteChange;
  }
  throw new TypeError('work item payload is not a record change');
}

/** Whether the change is part of a bulk load whose "apply on create/replay only" fields must be written. */
export function isFullWrite(change: RecordChange): boolean {
  return change.origin === 'initial' || change.origin === 'replay' || change.origin === 'rebaseline';
}

/**
 * The trace of one record: every step of its life the store holds (docs/trace.md). The steps are
 * built from the audit trail (applied writes, parks, releases, failed attempts, dead letters,
 * operator actions, privacy steps), the opt-out decision audit, the privacy guards and the record's
 * current work item. Like the audit trail, a trace holds ids, codes and field names — never values.
 */
import { z } from 'zod';

/** What one step of a record's life was. */
export const traceStepKinds = [
  'read',
  'staged',
  'leased',
  'attempt-failed',
  'applied',
  'parked',
  'released',
  'orphaned',
  'dead-lettered',
  'opt-out-decision',
  'privacy-hold',
  'tombstone',
  'operator',
] as const;
export type TraceStepKind = (typeof traceStepKinds)[number];

/** One step of a record's life. */
export interface TraceStep {
  /** When it happened (ms since epoch). */
  at: number;
  kind: TraceStepKind;
  flow: string;
  /** One line for people: what happened, without values. */
  summary: string;
  /** Names of the fields written (applied steps), never their values. */
  fields?: string[];
  /** Error code (failed attempts, dead letters). */
  code?: string;
  /** Campaign PKey the step wrote or found. */
  campaignPKey?: string;
  /** Dynamics `versionnumber` of the state the step is about. */
  sourceVersion?: string;
}

/** Where a record stands now, in one word. */
export const traceRecordStates = [
  'synced',
  'queued',
  'retrying',
  'parked',
  'orphan',
  'dead-lettered',
  'deleted',
  'held',
  'unknown',
] as const;
export type TraceRecordState = (typeof traceRecordStates)[number];

/** A record the trace links to (a parent, a child). */
export interface TraceRecordRef {
  flow: string;
  recordKey: string;
}

/** One record (one flow's view of a key) and its steps, newest first. */
export interface TraceMatch {
  flow: string;
  recordKey: string;
  campaignPKey: string | null;
  state: TraceRecordState;
  /** The parent it links to or waits for (custom tables), null for none. */
  parent: TraceRecordRef | null;
  /** Children parked on it and children it released (at most {@link traceChildrenLimit}). */
  children: (TraceRecordRef & { state: TraceRecordState })[];
  steps: TraceStep[];
  /** Older steps exist beyond {@link traceStepLimit}. */
  truncated: boolean;
}

/** The answer of `dcsync trace` and `GET /api/trace`: one match per flow holding the key. */
export interface TraceAnswer {
  /** The key as asked (a Dynamics id or a Campaign PKey). */
  query: string;
  matches: TraceMatch[];
}

/** Steps kept per match, newest first. */
export const traceStepLimit = 200;
/** Children listed per match. */
export const traceChildrenLimit = 20;

/**
 * Audit actions the engine writes for the trace (besides the applier's `<resource>.create|update|
 * adopt|delete` entries and the operators' and privacy runner's own).
 */
export const traceAuditActions = {
  /** A completion wrote nothing to Campaign (unchanged, stale, filtered out, tombstoned…). */
  skipped: 'record.skipped',
  parked: 'record.parked',
  released: 'record.released',
  /** On the parent: the children its landing released (ids, capped). */
  childrenReleased: 'record.children-released',
  attemptFailed: 'record.attempt-failed',
  deadLettered: 'record.dead-lettered',
  /** A child whose lookup is empty on a required link: no parent in Dynamics. */
  orphaned: 'record.orphaned',
} as const;

const refSchema = z.object({ flow: z.string(), recordKey: z.string() });

/**
 * The structured facts of an engine audit entry about one record (`AuditEntry.trace`, stored as
 * JSON in the same insert as the entry): what the trace shows beyond action, fields and detail.
 * Every member is an id, a code, a count or a time — never a value of the record.
 */
export const recordTraceDetailSchema = z.object({
  sourceVersion: z.string().optional(),
  /** When the applied state was first staged (ms). */
  stagedAt: z.number().optional(),
  /** Attempts the item had when this happened. */
  attempts: z.number().optional(),
  campaignPKey: z.string().optional(),
  lane: z.string().optional(),
  code: z.string().optional(),
  /** Next attempt (ms), for a failed attempt that will be retried. */
  retryAt: z.number().optional(),
  /** Parent(s): linked to (applied), waited for (parked), released by (released). */
  parents: z.array(refSchema).optional(),
  /** Children released (on the parent's entry), at most {@link traceChildrenLimit}. */
  children: z.array(refSchema).optional(),
  /** How many children were released, when more than listed. */
  childCount: z.number().optional(),
});
export type RecordTraceDetail = z.infer<typeof recordTraceDetailSchema>;

/** `more` merged into `current`: members already there are kept (the first writer's facts win). */
export function mergeTraceDetail(
  current: RecordTraceDetail | undefined,
  more: RecordTraceDetail,
): RecordTraceDetail {
  const merged: RecordTraceDetail = { ...more };
  for (const [name, value] of Object.entries(current ?? {})) {
    if (value !== undefined) (merged as Record<string, unknown>)[name] = value;
  }
  return merged;
}

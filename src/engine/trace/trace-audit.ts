import type { AuditEntry, CompletionEffects, ParentRef, WorkItem } from '../../core/ports/state-store.js';
import { mergeTraceDetail, traceAuditActions } from '../../core/record-trace.js';
import type { ApplyOutcome } from '../engine-stats.js';

/**
 * The audit entries the trace of a record is read from, written by the engine at the moment each
 * step happens and always inside the statement group that step commits anyway (the completion's
 * group commit, the failure's or the park's transaction): never a statement of their own.
 * Ids, codes, counts, times and field names only — never a value of the record.
 */

/**
 * The completion effects of an applied item with its trace facts: the applier's entry about the
 * record gets the source version, staging time, attempts, lane and Campaign PKey in its detail; an
 * outcome the applier recorded nothing for (unchanged, stale, filtered…) gets a `record.skipped`
 * entry, so a trace shows every change read, not only the ones that wrote.
 */
export function withAppliedTrace(
  item: WorkItem,
  outcome: ApplyOutcome,
  effects: CompletionEffects,
  at: number,
): CompletionEffects {
  const pkey = effects.keyMap?.op === 'put' ? (effects.keyMap.entry.campaignPKey ?? undefined) : undefined;
  const facts = {
    ...(item.sourceVersion === null ? {} : { sourceVersion: item.sourceVersion }),
    stagedAt: item.enqueuedAt,
    attempts: item.attempts,
    lane: item.lane,
    ...(pkey === undefined ? {} : { campaignPKey: pkey }),
  };
  const audit = [...(effects.audit ?? [])];
  const own = audit.findIndex(
    (entry) => entry.flow === item.flow && entry.recordKey === item.recordKey && entry.actor === 'engine',
  );
  if (own >= 0) {
    const entry = audit[own]!;
    audit[own] = { ...entry, trace: mergeTraceDetail(entry.trace, facts) };
  } else {
    audit.unshift({
      at,
      actor: 'engine',
      action: traceAuditActions.skipped,
      flow: item.flow,
      recordKey: item.recordKey,
      fields: [],
      outcome,
      detail: null,
      trace: facts,
    });
  }
  return { ...effects, audit };
}

/** The trace entry of a failed attempt (`retryAt` set) or of the dead letter it became. */
export function failureAuditEntry(
  item: WorkItem,
  failure: { code: string; message: string; retryAt: number | null; attempts: number },
  at: number,
): Omit<AuditEntry, 'id'> {
  const deadLettered = failure.retryAt === null;
  return {
    at,
    actor: 'engine',
    action: deadLettered ? traceAuditActions.deadLettered : traceAuditActions.attemptFailed,
    flow: item.flow,
    recordKey: item.recordKey,
    fields: [],
    outcome: failure.code,
    detail: failure.message,
    trace: {
      code: failure.code,
      attempts: failure.attempts,
      stagedAt: item.enqueuedAt,
      lane: item.lane,
      ...(item.sourceVersion === null ? {} : { sourceVersion: item.sourceVersion }),
      ...(failure.retryAt === null ? {} : { retryAt: failure.retryAt }),
    },
  };
}

/** The trace entry of a park: the parent it waits for and why. */
export function parkAuditEntry(
  item: WorkItem,
  parent: ParentRef,
  reason: string,
  at: number,
): Omit<AuditEntry, 'id'> {
  return {
    at,
    actor: 'engine',
    action: traceAuditActions.parked,
    flow: item.flow,
    recordKey: item.recordKey,
    fields: [],
    outcome: 'parked',
    detail: reason,
    trace: {
      parents: [{ flow: parent.flow, recordKey: parent.recordKey }],
      attempts: item.attempts,
      stagedAt: item.enqueuedAt,
      ...(item.sourceVersion === null ? {} : { sourceVersion: item.sourceVersion }),
    },
  };
}

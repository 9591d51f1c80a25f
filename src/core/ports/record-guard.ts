/**
 * Privacy guards on records (I9). The engine asks before applying any change:
 * - `hold`: a privacy request is running for this record — write nothing; the change is parked on
 *   the pseudo-parent of {@link PRIVACY_HOLD_FLOW} (the engine's parking) and released when the
 *   hold ends;
 * - `tombstone`: the record was privacy-deleted — never write it again (the change is dropped);
 * - `null`: no guard, apply normally.
 */
export type GuardVerdict = 'hold' | 'tombstone' | null;

export interface RecordGuard {
  check(flow: string, recordKey: string): Promise<GuardVerdict>;
}

/** Parked items waiting for a privacy hold to end hang on this pseudo-parent flow. */
export const PRIVACY_HOLD_FLOW = 'privacy-hold';

/** No guards (privacy orchestration not configured). */
export const noRecordGuard: RecordGuard = { check: () => Promise.resolve(null) };

import type { WorkLane } from '../../core/ports/state-store.js';

/** What a call does, for engine-call accounting. */
export const callKinds = ['read', 'insert', 'update', 'delete'] as const;
export type CallKind = (typeof callKinds)[number];

/** The result of one call, fed back so the gate can adapt. */
export interface CallOutcome {
  /** HTTP status; absent when the call failed in transport. */
  status?: number;
  latencyMs: number;
  /** Transport failure (timeout, dropped connection). */
  failed?: boolean;
  /** The server's Retry-After, when it sent one. */
  retryAfterMs?: number;
}

/**
 * The pacing gate every attempt of an Adobe call passes: Campaign's `CallBudget` (I10). The
 * Privacy Service has its own limits and passes none.
 */
export interface AdobeCallGate {
  /** Wait until a call of `kind` may start (rejects when it cannot start soon, or on abort). */
  acquire(kind: CallKind, options?: { lane?: WorkLane; signal?: AbortSignal }): Promise<void>;
  /** Feed back the call's outcome. */
  record(outcome: CallOutcome): void;
}

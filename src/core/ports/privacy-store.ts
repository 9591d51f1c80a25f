import { z } from 'zod';
/**
 * The Privacy port: privacy requests with their step history, and the holds and tombstones that
 * guard records while a request runs and after it completed (flow F5, invariant I9).
 *
 * Everything here holds ids, codes and times only — never the person's data: the e-mail address
 * a Privacy Service job needs is read from the two systems when the job is submitted and never
 * stored.
 *
 * Holds and tombstones are keyed by record key alone (flow-independent): the contact id, and the
 * ids of the custom rows whose Campaign records the privacy delete cascades to.
 */
import type { AuditEntry, Page, PageRequest } from './state-store.js';
import type { RecordGuard } from './record-guard.js';

export const privacyRequestTypes = ['delete', 'access'] as const;
export type PrivacyRequestType = (typeof privacyRequestTypes)[number];

/** Life-cycle of a request (the operator surface shows the same words). */
export const privacyRequestStates = ['pending', 'in-progress', 'completed', 'failed'] as const;
export type PrivacyRequestState = (typeof privacyRequestStates)[number];

/** A request in one of these states may still move on. */
export const activePrivacyRequestStates = ['pending', 'in-progress'] as const;

/**
 * The runbook of a delete request, in order (campaign-api.md §1.10). `done` is where a completed
 * request rests; access requests have the single step `gather`.
 */
export const privacyDeleteSteps = [
  'hold',
  'submit',
  'poll',
  'verify-campaign',
  'delete-dynamics',
  'verify-gone',
  'tombstone',
] as const;
export type PrivacyDeleteStep = (typeof privacyDeleteSteps)[number];

export const privacySteps = [...privacyDeleteSteps, 'gather', 'done'] as const;
export type PrivacyStep = (typeof privacySteps)[number];

/** What one entry of the step history says. */
export const privacyStepOutcomes = ['requested', 'succeeded', 'waiting', 'retrying', 'failed'] as const;
export type PrivacyStepOutcome = (typeof privacyStepOutcomes)[number];

/** A Campaign record the privacy delete reaches through a link from the profile (ids only). */
/** A linked record as stored with a request (read back through this schema). */
export const privacyLinkedRecordSchema = z.object({
  flow: z.string(),
  recordKey: z.string(),
  resource: z.string(),
  pkey: z.string().nullable(),
  cascade: z.boolean(),
});

export interface PrivacyLinkedRecord {
  /** Flow of the Dynamics row (`table:<logical name>`). */
  flow: string;
  /** Dynamics row id. */
  recordKey: string;
  /** Campaign custom resource. */
  resource: string;
  /** Campaign PKey when the record exists in Campaign. */
  pkey: string | null;
  /** Whether the link chain to the profile deletes with cascade (so the privacy tool removes it). */
  cascade: boolean;
}

export interface PrivacyRequest {
  id: string;
  type: PrivacyRequestType;
  /** Dynamics contact id (lower-case GUID) — the record key of the `contacts` flow. */
  contactKey: string;
  regulation: string;
  state: PrivacyRequestState;
  /** The step to run next (or the last one, for finished requests). */
  step: PrivacyStep;
  /** `cli:<user>`, `api`, `dashboard`… */
  requestedBy: string;
  createdAt: number;
  updatedAt: number;
  /** Not before this time (ms since epoch) does the runner look at the request again. */
  nextAttemptAt: number;
  /** Attempts of the current step that ended in a retry (resets on each new step). */
  attempts: number;
  /** Privacy Service job id once submitted. */
  jobId: string | null;
  /** When the hold was taken (the runner waits for every engine to see it). */
  heldAt: number | null;
  /** When the tombstone was written. */
  tombstonedAt: number | null;
  /** Campaign profile PKey found before anything was deleted. */
  profilePKey: string | null;
  /** Linked Campaign records found before anything was deleted. */
  linked: PrivacyLinkedRecord[];
  errorCode: string | null;
  /** Why it failed; text without personal data. */
  errorMessage: string | null;
}

export interface PrivacyRequestInput {
  type: PrivacyRequestType;
  contactKey: string;
  regulation: string;
  requestedBy: string;
}

/** Fields a step may change on its request (`step`/`state` move it on). */
export type PrivacyRequestPatch = Partial<
  Pick<
    PrivacyRequest,
    | 'state'
    | 'step'
    | 'nextAttemptAt'
    | 'attempts'
    | 'jobId'
    | 'heldAt'
    | 'tombstonedAt'
    | 'profilePKey'
    | 'linked'
    | 'errorCode'
    | 'errorMessage'
  >
>;

/** One entry of a request's append-only step history. */
export interface PrivacyStepEntry {
  id: string;
  requestId: string;
  step: PrivacyStep;
  outcome: PrivacyStepOutcome;
  startedAt: number;
  finishedAt: number;
  /** Ids and codes only (job id, counts, error code). */
  detail: string | null;
}

export interface PrivacyRequestFilter {
  state?: PrivacyRequestState | undefined;
  type?: PrivacyRequestType | undefined;
  contactKey?: string | undefined;
}

/** What `purge` removed from the local store. */
export interface PrivacyPurgeReport {
  workItems: number;
  parked: number;
  deadLetters: number;
  keyMap: number;
}

export type PrivacyGuardKind = 'hold' | 'tombstone';

export interface PrivacyStore extends RecordGuard {
  /**
   * Create a request. At most one delete request per contact is active: when one is, it is
   * returned with `created: false`.
   */
  create(input: PrivacyRequestInput): Promise<{ request: PrivacyRequest; created: boolean }>;
  get(id: string): Promise<PrivacyRequest | null>;
  /** Requests, newest first. */
  list(filter: PrivacyRequestFilter, page: PageRequest): Promise<Page<PrivacyRequest>>;
  /** Active requests whose `nextAttemptAt` has come, oldest first. */
  due(now: number, limit: number): Promise<PrivacyRequest[]>;
  /**
   * Move a request on, atomically with its history entries and audit entries: applied only when
   * the request still is at `expectedStep` and active (false otherwise — someone else moved it).
   */
  advance(
    id: string,
    expectedStep: PrivacyStep,
    patch: PrivacyRequestPatch,
    history: readonly Omit<PrivacyStepEntry, 'id' | 'requestId'>[],
    audit?: readonly Omit<AuditEntry, 'id'>[],
  ): Promise<boolean>;
  /** The step history of a request, oldest first. */
  steps(requestId: string): Promise<PrivacyStepEntry[]>;
  /** Hold these record keys for a request (idempotent; a tombstoned key stays tombstoned). */
  hold(recordKeys: readonly string[], requestId: string): Promise<void>;
  /** Replace holds by tombstones, which keep only the key and the time (idempotent). */
  tombstone(recordKeys: readonly string[]): Promise<void>;
  /** Drop the holds of a request on these keys (tombstones stay). */
  releaseHolds(recordKeys: readonly string[], requestId: string): Promise<number>;
  /** The guard on one key, read from the database (no cache). */
  guardOf(
    recordKey: string,
  ): Promise<{ kind: PrivacyGuardKind; requestId: string | null; at: number } | null>;
  /**
   * Remove every trace of these records from the local store: queued and leased work, parked
   * items (their own and those waiting on them or on their privacy hold), dead letters and
   * key-map entries.
   */
  purge(records: readonly { flow: string; recordKey: string }[]): Promise<PrivacyPurgeReport>;
}

/**
 * How long an engine may act on a cached guard snapshot. The runner waits this long after taking
 * a hold (and after tombstoning) before it relies on every engine seeing the change.
 */
export const PRIVACY_GUARD_REFRESH_MS = 1000;

import type { Page, PageRequest } from '../../core/ports/state-store.js';

/** Life-cycle states of a privacy request, as the operator surface shows them. */
export const privacyRequestStates = ['pending', 'in-progress', 'completed', 'failed'] as const;
export type PrivacyRequestState = (typeof privacyRequestStates)[number];

/**
 * Privacy requests (flow F5) as the operator surface sees them. Issue 8 implements it over its
 * persisted state machine; the server only lists, reads and creates. Views hold ids, codes and
 * times only — never the person's data.
 */
export interface PrivacyProvider {
  /** Requests, newest first. */
  list(filter: PrivacyRequestFilter, page: PageRequest): Promise<Page<PrivacyRequestView>>;
  /** One request with its step history; null when unknown. */
  get(id: string): Promise<PrivacyRequestDetail | null>;
  /**
   * Start a delete request for a contact (the hold is taken before this resolves).
   * @throws SyncError with a stable code when the request cannot start (e.g. one already runs).
   */
  create(input: PrivacyRequestInput): Promise<PrivacyRequestView>;
}

export interface PrivacyRequestFilter {
  state?: PrivacyRequestState | undefined;
  /** Exact Dynamics contact id. */
  contactId?: string | undefined;
}

export interface PrivacyRequestInput {
  /** Dynamics contact id (GUID, lower case). */
  contactId: string;
  /** Privacy Service regulation, e.g. `gdpr`; the configured default when absent. */
  regulation?: string | undefined;
  /** Who asked: `api` (bearer) or `dashboard` (session). */
  requestedBy: string;
}

export interface PrivacyRequestView {
  id: string;
  contactId: string;
  regulation: string;
  state: PrivacyRequestState;
  /** Current (or last) step, e.g. `hold`, `submit`, `poll`, `verify-campaign`. */
  step: string;
  requestedBy: string;
  createdAt: number;
  updatedAt: number;
  /** When the runner looks at the request next (ms since epoch); null once it completed or failed. */
  nextAttemptAt: number | null;
  /** At step `poll`: when the Privacy Service job's status is asked for next (ms); null otherwise. */
  nextPollAt: number | null;
  /** Why the request failed (code and text without personal data); null otherwise. */
  error: { code: string; message: string } | null;
}

export interface PrivacyStepView {
  step: string;
  /** e.g. `started`, `succeeded`, `failed`, `waiting`. */
  outcome: string;
  at: number;
  /** Ids and codes only (Privacy Service job id, HTTP status…). */
  detail: string | null;
}

export interface PrivacyRequestDetail extends PrivacyRequestView {
  steps: PrivacyStepView[];
}

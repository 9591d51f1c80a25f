import type { ApiClient } from './api-client.js';
import type { DeadLetterActionAnswer, PrivacyRequestView } from './api-types.js';

/** What an operator can do to a flow. */
export const flowActions = ['pause', 'resume', 'replay'] as const;
export type FlowAction = (typeof flowActions)[number];

export function isFlowAction(value: string | null): value is FlowAction {
  return flowActions.some((action) => action === value);
}

/** What an operator can do to dead letters. */
export const deadLetterActions = ['retry', 'discard'] as const;
export type DeadLetterAction = (typeof deadLetterActions)[number];

/**
 * Every change the dashboard makes, each one `POST` carrying the session's CSRF token (the
 * {@link ApiClient} adds it). Panels call these; none posts on its own.
 */
export class DashboardActions {
  constructor(private readonly api: ApiClient) {}

  /** Pause, resume or replay a flow; resuming after a breaker trip says whether the mass change is accepted. */
  async changeFlow(
    flow: string,
    action: FlowAction,
    options: { acceptMassChange?: boolean } = {},
  ): Promise<void> {
    await this.api.post(`/api/flows/${encodeURIComponent(flow)}/${action}`, options);
  }

  /** Retry or discard dead letters; returns how many it acted on. */
  async changeDeadLetters(action: DeadLetterAction, ids: readonly string[]): Promise<number> {
    if (action === 'retry')
      return (await this.api.post<DeadLetterActionAnswer<'retried'>>('/api/dead-letters/retry', { ids }))
        .retried;
    return (await this.api.post<DeadLetterActionAnswer<'discarded'>>('/api/dead-letters/discard', { ids }))
      .discarded;
  }

  /** Start a privacy delete request for a contact (the configured regulation when none is given). */
  startPrivacyRequest(input: { contactId: string; regulation?: string }): Promise<PrivacyRequestView> {
    return this.api.post<PrivacyRequestView>('/api/privacy/requests', input);
  }

  /** End the session. */
  async signOut(): Promise<void> {
    await this.api.post('/logout');
  }
}

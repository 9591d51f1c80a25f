import { isDynamicsId } from '../../core/record-key.js';
import { SyncError } from '../../core/errors.js';
import type { PrivacyRequest, PrivacyStore } from '../../core/ports/privacy-store.js';
import type { Page, PageRequest } from '../../core/ports/state-store.js';
import type { PrivacyRequestRunner } from '../../engine/privacy/privacy-request-runner.js';
import type {
  PrivacyProvider,
  PrivacyRequestDetail,
  PrivacyRequestFilter,
  PrivacyRequestInput,
  PrivacyRequestView,
} from '../../server/providers/privacy-provider.js';

function viewOf(request: PrivacyRequest): PrivacyRequestView {
  const active = request.state === 'pending' || request.state === 'in-progress';
  return {
    id: request.id,
    contactId: request.contactKey,
    regulation: request.regulation,
    state: request.state,
    step: request.step,
    requestedBy: request.requestedBy,
    createdAt: request.createdAt,
    updatedAt: request.updatedAt,
    nextAttemptAt: active ? request.nextAttemptAt : null,
    nextPollAt: active && request.step === 'poll' ? request.nextAttemptAt : null,
    error: request.errorCode ? { code: request.errorCode, message: request.errorMessage ?? '' } : null,
  };
}

/**
 * The operator server's view of privacy delete requests, over the privacy store and the request
 * runner: `create` takes the hold before it answers; the runbook then moves on in `dcsync run`.
 */
export class StorePrivacyProvider implements PrivacyProvider {
  constructor(
    private readonly store: PrivacyStore,
    private readonly runner: PrivacyRequestRunner,
    /** Regulation when the caller names none (config `privacy.regulation`). */
    private readonly defaultRegulation: string,
  ) {}

  async list(filter: PrivacyRequestFilter, page: PageRequest): Promise<Page<PrivacyRequestView>> {
    const found = await this.store.list(
      {
        type: 'delete',
        ...(filter.state ? { state: filter.state } : {}),
        ...(filter.contactId ? { contactKey: filter.contactId.toLowerCase() } : {}),
      },
      page,
    );
    return { items: found.items.map(viewOf), nextCursor: found.nextCursor };
  }

  async get(id: string): Promise<PrivacyRequestDetail | null> {
    const request = await this.store.get(id);
    if (!request || request.type !== 'delete') return null;
    const steps = await this.store.steps(id);
    return {
      ...viewOf(request),
      steps: steps.map((s) => ({ step: s.step, outcome: s.outcome, at: s.finishedAt, detail: s.detail })),
    };
  }

  async create(input: PrivacyRequestInput): Promise<PrivacyRequestView> {
    if (!isDynamicsId(input.contactId)) {
      throw new SyncError('PRIVACY_INVALID_CONTACT', 'contactId must be a Dynamics contact id (a GUID)');
    }
    const request = await this.runner.start({
      contactKey: input.contactId,
      regulation: input.regulation ?? this.defaultRegulation,
      requestedBy: input.requestedBy,
    });
    return viewOf(request);
  }
}

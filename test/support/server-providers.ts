import { randomUUID } from 'node:crypto';
import type { Page, PageRequest } from '../../src/core/ports/state-store.js';
import type {
  OptOutDecisionFilter,
  OptOutDecisionView,
  OptOutFileProblemView,
  OptOutFreshnessView,
  OptOutProvider,
  OptOutFileView,
  OptOutUsageView,
} from '../../src/server/providers/opt-out-provider.js';
import type {
  PrivacyProvider,
  PrivacyRequestDetail,
  PrivacyRequestFilter,
  PrivacyRequestInput,
  PrivacyRequestView,
} from '../../src/server/providers/privacy-provider.js';

function pageOf<T>(items: readonly T[], page: PageRequest): Page<T> {
  const start = page.cursor ? Number(page.cursor) : 0;
  const limit = page.limit ?? 100;
  const slice = items.slice(start, start + limit);
  return { items: slice, nextCursor: start + limit < items.length ? String(start + limit) : null };
}

/**
 * An in-memory opt-out provider holding what the test puts in it: the contract issue 7 implements
 * over its ledgers, so the server's routes, dashboard and monitor can be exercised before it lands.
 */
export class InMemoryOptOutProvider implements OptOutProvider {
  decisions: OptOutDecisionView[] = [];
  files: OptOutFileView[] = [];
  usage: OptOutUsageView | null = null;
  freshnessView: OptOutFreshnessView = { lastFileAt: null, stalenessHours: 26, stale: false };
  problems: OptOutFileProblemView[] = [];

  listDecisions(filter: OptOutDecisionFilter, page: PageRequest): Promise<Page<OptOutDecisionView>> {
    const matching = this.decisions.filter(
      (d) => filter.recordKey === undefined || d.recordKey === filter.recordKey,
    );
    return Promise.resolve(pageOf(matching, page));
  }

  listFiles(page: PageRequest): Promise<Page<OptOutFileView>> {
    return Promise.resolve(pageOf(this.files, page));
  }

  sftpUsage(): Promise<OptOutUsageView | null> {
    return Promise.resolve(this.usage);
  }

  freshness(): Promise<OptOutFreshnessView> {
    return Promise.resolve(this.freshnessView);
  }

  fileProblems(): Promise<OptOutFileProblemView[]> {
    return Promise.resolve(this.problems);
  }
}

/** An in-memory privacy provider: requests are created `pending`; tests move them along. */
export class InMemoryPrivacyProvider implements PrivacyProvider {
  readonly requests: PrivacyRequestDetail[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  list(filter: PrivacyRequestFilter, page: PageRequest): Promise<Page<PrivacyRequestView>> {
    const matching = this.requests
      .filter(
        (r) =>
          (filter.state === undefined || r.state === filter.state) &&
          (filter.contactId === undefined || r.contactId === filter.contactId),
      )
      .map(({ steps: _steps, ...view }) => view);
    return Promise.resolve(pageOf(matching, page));
  }

  get(id: string): Promise<PrivacyRequestDetail | null> {
    return Promise.resolve(this.requests.find((r) => r.id === id) ?? null);
  }

  /** Like the store-backed provider: a contact's running request is answered, not doubled. */
  create(input: PrivacyRequestInput): Promise<PrivacyRequestView> {
    const running = this.requests.find(
      (r) => r.contactId === input.contactId && r.state !== 'completed' && r.state !== 'failed',
    );
    if (running) {
      const { steps: _steps, ...view } = running;
      return Promise.resolve(view);
    }
    const at = this.now();
    const request: PrivacyRequestDetail = {
      id: randomUUID(),
      contactId: input.contactId,
      regulation: input.regulation ?? 'gdpr',
      state: 'pending',
      step: 'hold',
      requestedBy: input.requestedBy,
      createdAt: at,
      updatedAt: at,
      nextAttemptAt: at,
      nextPollAt: null,
      error: null,
      steps: [{ step: 'hold', outcome: 'started', at, detail: null }],
    };
    this.requests.unshift(request);
    const { steps: _steps, ...view } = request;
    return Promise.resolve(view);
  }
}

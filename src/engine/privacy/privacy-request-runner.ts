import type { Clock } from '../../core/clock.js';
import type { ErrorCode } from '../../core/error-catalogue.js';
import { SyncError } from '../../core/errors.js';
import type { AlertSink } from '../../core/ports/alert-sink.js';
import type { EngineLogger } from '../../core/ports/engine-logger.js';
import { privacyHoldParent } from '../../core/ports/record-guard.js';
import {
  PRIVACY_GUARD_REFRESH_MS,
  privacyDeleteSteps,
  type PrivacyDeleteStep,
  type PrivacyRequest,
  type PrivacyRequestPatch,
  type PrivacyStep,
  type PrivacyStepOutcome,
} from '../../core/ports/privacy-store.js';
import type { PrivacyJobService, PrivacyJobSummary } from '../../core/ports/privacy-systems.js';
import type { AuditEntry, StateStore } from '../../core/ports/state-store.js';
import type {
  PrivacyAccessDocument,
  PrivacyNamespaceSource,
  PrivacySubjectReader,
} from './privacy-subject-reader.js';

/**
 * Named points inside the runbook where a crash is most delicate. The runner calls
 * {@link PrivacyRequestRunnerOptions.onCheckpoint} there (fault-injection for tests).
 */
export const privacyCheckpoints = [
  ...privacyDeleteSteps.map((step) => `after:${step}` as const),
  'submit:posted',
  'delete-dynamics:deleted',
] as const;
export type PrivacyCheckpoint = (typeof privacyCheckpoints)[number];

export interface PrivacyRequestRunnerOptions {
  store: StateStore;
  jobs: PrivacyJobService;
  subject: PrivacySubjectReader;
  /** Identities sent with each job. */
  namespaces: readonly PrivacyNamespaceSource[];
  alerts: AlertSink;
  logger: EngineLogger;
  clock: Clock;
  /** Lock owner identity (host:pid). */
  owner: string;
  /** First wait between status polls of a job; doubles each time. @default 60000 */
  pollIntervalMs?: number;
  /** Longest wait between polls. @default 3600000 */
  maxPollIntervalMs?: number;
  /** First wait after a retryable failure (network, 5xx, 429); doubles each time. @default 1000 */
  retryDelayMs?: number;
  /** Longest wait after a retryable failure. @default 60000 */
  maxRetryDelayMs?: number;
  /** Times a "gone?" check may find the record still there before the request fails. @default 5 */
  verifyAttempts?: number;
  /** How long one runner may work on a request before another process may take over. @default 60000 */
  lockTtlMs?: number;
  /** How long engines may act on a cached guard snapshot. @default PRIVACY_GUARD_REFRESH_MS */
  guardRefreshMs?: number;
  /** Called at each {@link PrivacyCheckpoint} (fault injection). @default none */
  onCheckpoint?: (checkpoint: PrivacyCheckpoint, request: PrivacyRequest) => void;
}

type StepResult =
  | { kind: 'next'; patch?: PrivacyRequestPatch; detail: string | null }
  | { kind: 'stay'; patch: PrivacyRequestPatch; outcome: PrivacyStepOutcome | null; detail: string | null }
  | { kind: 'fail'; code: ErrorCode; message: string };

/** What one pass over a request did. */
export type PassOutcome = 'moved' | 'waiting' | 'finished' | 'busy';

const finalStates = new Set(['completed', 'failed']);

function nextStepOf(step: PrivacyDeleteStep): PrivacyStep {
  const index = privacyDeleteSteps.indexOf(step);
  return privacyDeleteSteps[index + 1] ?? 'done';
}

function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, Math.max(0, ms));
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function describeJob(job: PrivacyJobSummary): string {
  const codes = job.productResponses.map((r) => `${r.product}:${r.responseMsgCode || r.status}`);
  return `job ${job.jobId} ${job.status}${codes.length > 0 ? ` (${codes.join(', ')})` : ''}`;
}

/**
 * Runs privacy delete requests through the runbook of campaign-api.md §1.10, as a persisted
 * state machine: hold → submit a Privacy Service job → poll until complete → verify gone from
 * Campaign → delete in Dynamics (contact, then its change history) → verify gone from both →
 * tombstone, purge, release.
 *
 * Each step is idempotent and the request's step only moves forward in the same transaction as
 * its history entry, so a crash anywhere repeats at most the step it interrupted:
 * - the job is submitted with a deterministic user key, and the attempt is recorded first: a
 *   repeated submit looks the job up by that key before sending another;
 * - the Dynamics contact is deleted only when it still exists.
 * One process works on a request at a time (a named lock per request, taken per step).
 */
export class PrivacyRequestRunner {
  private readonly pollIntervalMs: number;
  private readonly maxPollIntervalMs: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly verifyAttempts: number;
  private readonly lockTtlMs: number;
  private readonly guardRefreshMs: number;

  constructor(private readonly options: PrivacyRequestRunnerOptions) {
    this.pollIntervalMs = options.pollIntervalMs ?? 60_000;
    this.maxPollIntervalMs = options.maxPollIntervalMs ?? 3_600_000;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 60_000;
    this.verifyAttempts = options.verifyAttempts ?? 5;
    this.lockTtlMs = options.lockTtlMs ?? 60_000;
    this.guardRefreshMs = options.guardRefreshMs ?? PRIVACY_GUARD_REFRESH_MS;
  }

  /**
   * Create a delete request and take the hold before returning. An active request for the same
   * contact is returned as it is; for a contact already privacy-deleted, the request that did it.
   */
  async start(input: {
    contactKey: string;
    regulation: string;
    requestedBy: string;
  }): Promise<PrivacyRequest> {
    const contactKey = input.contactKey.toLowerCase();
    // Already privacy-deleted: answer with the request that did it instead of starting another.
    if ((await this.options.store.privacy.guardOf(contactKey))?.kind === 'tombstone') {
      const done = await this.options.store.privacy.list(
        { contactKey, type: 'delete', state: 'completed' },
        { limit: 1 },
      );
      if (done.items[0]) return done.items[0];
    }
    const { request, created } = await this.options.store.privacy.create({
      type: 'delete',
      ...input,
      contactKey,
    });
    if (created) {
      await this.options.store.audit.append([
        this.auditEntry(request, 'privacy.request', 'requested', input.requestedBy),
      ]);
      this.options.logger.info(
        { privacyRequest: request.id, contact: contactKey },
        'privacy delete requested',
      );
    }
    // Hold now; the settle wait and the rest of the runbook follow in later passes.
    await this.pass(request.id);
    return (await this.options.store.privacy.get(request.id)) ?? request;
  }

  /**
   * Answer an access request: gather what both systems hold into one document. The request and
   * its history record who asked and what was found (counts), never the data itself.
   */
  async access(input: { contactKey: string; regulation: string; requestedBy: string }): Promise<{
    request: PrivacyRequest;
    document: PrivacyAccessDocument;
  }> {
    const contactKey = input.contactKey.toLowerCase();
    const { request } = await this.options.store.privacy.create({ type: 'access', ...input, contactKey });
    const started = this.options.clock.now();
    const document = await this.options.subject.gatherAccess(contactKey);
    const detail =
      `profile ${document.campaign.profile ? 'found' : 'absent'}; ` +
      `${document.campaign.linked.length} linked records; contact ${document.dynamics.contact ? 'found' : 'absent'}`;
    await this.options.store.privacy.advance(
      request.id,
      'gather',
      { state: 'completed', step: 'done' },
      [
        {
          step: 'gather',
          outcome: 'succeeded',
          startedAt: started,
          finishedAt: this.options.clock.now(),
          detail,
        },
      ],
      [this.auditEntry(request, 'privacy.access', 'succeeded', input.requestedBy, detail)],
    );
    return { request: (await this.options.store.privacy.get(request.id)) ?? request, document };
  }

  /** One pass over every request that is due; returns how many moved on. */
  async runDue(limit = 20): Promise<number> {
    let moved = 0;
    for (const request of await this.options.store.privacy.due(this.options.clock.now(), limit)) {
      if (request.type !== 'delete') continue;
      try {
        for (let steps = 0; steps < privacyDeleteSteps.length + 1; steps++) {
          const outcome = await this.pass(request.id);
          if (outcome !== 'moved') break;
          moved++;
        }
      } catch (error) {
        this.options.logger.warn({ err: error, privacyRequest: request.id }, 'privacy request pass failed');
      }
    }
    return moved;
  }

  /** Run one request until it completes or fails (the CLI's `--wait`). */
  async runToEnd(id: string, signal?: AbortSignal): Promise<PrivacyRequest> {
    for (;;) {
      let outcome: PassOutcome;
      try {
        outcome = await this.pass(id);
      } catch (error) {
        // The store or a remote was briefly unavailable outside a step: look again shortly.
        if (!(error instanceof SyncError) || !error.retryable || signal?.aborted) throw error;
        this.options.logger.warn({ err: error, privacyRequest: id }, 'privacy request pass failed; retrying');
        await sleep(1000, signal);
        continue;
      }
      const request = await this.options.store.privacy.get(id);
      if (!request) throw new SyncError('PRIVACY_REQUEST_UNKNOWN', `privacy request ${id} does not exist`);
      if (outcome === 'finished' || finalStates.has(request.state) || signal?.aborted) return request;
      if (outcome === 'moved') continue;
      const wait = outcome === 'busy' ? 500 : request.nextAttemptAt - this.options.clock.now();
      await sleep(Math.min(Math.max(wait, 10), 60_000), signal);
    }
  }

  /**
   * Run the request's current step once, if it is due and no other process is on it. Returns
   * `moved` when the step finished and the next one is due now.
   */
  async pass(id: string): Promise<PassOutcome> {
    const { store, owner } = this.options;
    const lock = `privacy-request:${id}`;
    if (!(await store.locks.tryAcquire(lock, owner, this.lockTtlMs))) return 'busy';
    let checkpoint: PrivacyCheckpoint | null = null;
    let request: PrivacyRequest | null;
    let outcome: PassOutcome;
    try {
      request = await store.privacy.get(id);
      if (!request || finalStates.has(request.state) || request.type !== 'delete') return 'finished';
      if (request.nextAttemptAt > this.options.clock.now()) return 'waiting';
      const step = request.step as PrivacyDeleteStep;
      const moved = await this.runStep(request, step);
      if (moved === 'next') checkpoint = `after:${step}`;
      outcome =
        moved === 'next'
          ? step === 'tombstone'
            ? 'finished'
            : 'moved'
          : moved === 'failed'
            ? 'finished'
            : 'waiting';
    } finally {
      await store.locks.release(lock, owner);
    }
    // After the lock is released, so a process killed here leaves nothing for the next to wait out.
    if (checkpoint) this.options.onCheckpoint?.(checkpoint, request);
    return outcome;
  }

  private async runStep(
    request: PrivacyRequest,
    step: PrivacyDeleteStep,
  ): Promise<'next' | 'stay' | 'failed'> {
    const started = this.options.clock.now();
    let result: StepResult;
    try {
      result = await this.execute(request, step);
    } catch (error) {
      if (!(error instanceof SyncError) || !error.retryable) {
        const code = error instanceof SyncError ? error.code : 'PRIVACY_STEP_FAILED';
        const message = error instanceof Error ? error.message : String(error);
        result = { kind: 'fail', code, message: `step ${step}: ${message}` };
      } else {
        const delay = Math.min(this.maxRetryDelayMs, this.retryDelayMs * 2 ** request.attempts);
        const retryAfter =
          'retryAfterMs' in error && typeof error.retryAfterMs === 'number' ? error.retryAfterMs : 0;
        this.options.logger.warn(
          { privacyRequest: request.id, step, code: error.code, attempt: request.attempts + 1 },
          'privacy request step will be retried',
        );
        result = {
          kind: 'stay',
          patch: { attempts: request.attempts + 1, nextAttemptAt: started + Math.max(delay, retryAfter) },
          outcome: 'retrying',
          detail: error.code,
        };
      }
    }
    const finished = this.options.clock.now();
    const { privacy } = this.options.store;
    if (result.kind === 'next') {
      const next = nextStepOf(step);
      const done = next === 'done';
      const moved = await privacy.advance(
        request.id,
        step,
        {
          ...result.patch,
          step: next,
          state: done ? 'completed' : 'in-progress',
          attempts: 0,
          nextAttemptAt: finished,
        },
        [{ step, outcome: 'succeeded', startedAt: started, finishedAt: finished, detail: result.detail }],
        [
          this.auditEntry(request, `privacy.${step}`, 'succeeded', 'engine', result.detail),
          ...(done ? [this.auditEntry(request, 'privacy.complete', 'succeeded', 'engine')] : []),
        ],
      );
      if (moved) {
        this.options.logger.info({ privacyRequest: request.id, step, next }, 'privacy request step done');
        return 'next';
      }
      return 'stay';
    }
    if (result.kind === 'stay') {
      const history =
        result.outcome === null
          ? []
          : [
              {
                step,
                outcome: result.outcome,
                startedAt: started,
                finishedAt: finished,
                detail: result.detail,
              },
            ];
      await privacy.advance(request.id, step, { state: 'in-progress', ...result.patch }, history);
      return 'stay';
    }
    // Alert first: a crash between the two repeats the alert (de-duplicated downstream), never loses it.
    await this.options.alerts.raise({
      kind: 'privacy-request-failed',
      severity: 'critical',
      subject: `privacy-request:${request.id}`,
      message: `Privacy request ${request.id} (contact ${request.contactKey}) failed at step ${step}: ${result.code}. The record stays held.`,
      at: finished,
    });
    await privacy.advance(
      request.id,
      step,
      { state: 'failed', errorCode: result.code, errorMessage: result.message },
      [
        {
          step,
          outcome: 'failed',
          startedAt: started,
          finishedAt: finished,
          detail: `${result.code}: ${result.message}`,
        },
      ],
      [this.auditEntry(request, `privacy.${step}`, 'failed', 'engine', result.code)],
    );
    this.options.logger.error(
      { privacyRequest: request.id, step, code: result.code },
      'privacy request failed; the record stays held',
    );
    return 'failed';
  }

  private execute(request: PrivacyRequest, step: PrivacyDeleteStep): Promise<StepResult> {
    switch (step) {
      case 'hold':
        return this.hold(request);
      case 'submit':
        return this.submit(request);
      case 'poll':
        return this.poll(request);
      case 'verify-campaign':
        return this.verifyCampaign(request);
      case 'delete-dynamics':
        return this.deleteInDynamics(request);
      case 'verify-gone':
        return this.verifyGone(request);
      case 'tombstone':
        return this.tombstone(request);
    }
  }

  /** Keys held for the request: the contact and the records the privacy delete cascades to. */
  private heldKeys(request: PrivacyRequest): string[] {
    return [request.contactKey, ...request.linked.filter((r) => r.cascade).map((r) => r.recordKey)];
  }

  private async hold(request: PrivacyRequest): Promise<StepResult> {
    const { store, subject, clock } = this.options;
    if (request.heldAt === null) {
      const guard = await store.privacy.guardOf(request.contactKey);
      if (guard?.kind === 'tombstone') {
        return {
          kind: 'fail',
          code: 'PRIVACY_ALREADY_DELETED',
          message: `contact ${request.contactKey} was privacy-deleted before`,
        };
      }
      // Read before anything is deleted: which Campaign records hang off the profile.
      const linked = await subject.findLinkedRecords(request.contactKey);
      const profile = await subject.profileOf(request.contactKey);
      const heldAt = clock.now();
      const held = { ...request, linked };
      await store.privacy.hold(this.heldKeys(held), request.id);
      return {
        kind: 'stay',
        patch: {
          heldAt,
          linked,
          profilePKey: profile?.PKey ?? null,
          nextAttemptAt: heldAt + this.guardRefreshMs,
        },
        outcome: 'waiting',
        detail: `held ${this.heldKeys(held).length} keys; profile ${profile ? 'found' : 'absent'}; ${linked.length} linked records`,
      };
    }
    // Every engine sees the hold once its guard snapshot is refreshed; a write already in flight
    // finishes under its lease. Only then is the record quiet.
    const now = clock.now();
    if (now < request.heldAt + this.guardRefreshMs) {
      return {
        kind: 'stay',
        patch: { nextAttemptAt: request.heldAt + this.guardRefreshMs },
        outcome: null,
        detail: null,
      };
    }
    const flows = [
      { flow: 'contacts', recordKey: request.contactKey },
      ...request.linked.filter((r) => r.cascade),
    ];
    for (const { flow, recordKey } of flows) {
      const items = await store.queue.itemsForKey(flow, recordKey);
      if (items.some((item) => item.state === 'leased' && (item.leaseExpiresAt ?? 0) > now)) {
        return { kind: 'stay', patch: { nextAttemptAt: now + 250 }, outcome: null, detail: null };
      }
    }
    return { kind: 'next', detail: `quiet after ${now - request.heldAt} ms` };
  }

  private userKeyOf(request: PrivacyRequest): string {
    return `dcsync-${request.id}-${request.contactKey}`;
  }

  private async submit(request: PrivacyRequest): Promise<StepResult> {
    const { jobs, subject, store, clock } = this.options;
    const userKey = this.userKeyOf(request);
    if (request.attempts > 0) {
      // An earlier attempt may have reached the service before its answer was stored.
      const existing = await this.findJob(request, userKey);
      if (existing)
        return { kind: 'next', patch: { jobId: existing.jobId }, detail: `adopted ${describeJob(existing)}` };
    }
    const identities = await subject.identitiesOf(request.contactKey, this.options.namespaces);
    if (identities.length === 0) {
      return {
        kind: 'fail',
        code: 'PRIVACY_NO_IDENTITY',
        message: `no identity of the configured namespaces is known for contact ${request.contactKey}`,
      };
    }
    // Record the attempt before sending, so a crash after the service accepted the job is found.
    const marked = await store.privacy.advance(
      request.id,
      'submit',
      { state: 'in-progress', attempts: request.attempts + 1 },
      [],
    );
    if (!marked) return { kind: 'stay', patch: {}, outcome: null, detail: null };
    const [job] = await jobs.submitDelete([{ userKey, identities, regulation: request.regulation }]);
    if (!job)
      throw new SyncError('PRIVACY_BAD_RESPONSE', 'Privacy Service accepted the job request without a job');
    this.options.onCheckpoint?.('submit:posted', request);
    return {
      kind: 'next',
      patch: { jobId: job.jobId },
      detail: `job ${job.jobId} submitted with ${identities.length} identities (${identities.map((i) => i.namespace).join(', ')}) at ${clock.now()}`,
    };
  }

  /** The job submitted for this request, looked up by its user key among the regulation's jobs. */
  private async findJob(request: PrivacyRequest, userKey: string): Promise<PrivacyJobSummary | null> {
    const now = this.options.clock.now();
    // The list looks back at most 45 days over a range of at most 30.
    const from = Math.max(request.createdAt - 86_400_000, now - 29 * 86_400_000);
    const size = 1000;
    for (let page = 0; page < 100; page++) {
      const { jobs, totalRecords } = await this.options.jobs.listJobs({
        regulation: request.regulation,
        page,
        size,
        fromDate: utcDate(from),
        toDate: utcDate(now),
      });
      const found = jobs.find((job) => job.userKey === userKey);
      if (found) return found;
      if (jobs.length < size || (page + 1) * size >= totalRecords) return null;
    }
    return null;
  }

  private async poll(request: PrivacyRequest): Promise<StepResult> {
    const jobId = request.jobId;
    if (!jobId)
      return { kind: 'fail', code: 'PRIVACY_JOB_MISSING', message: 'no Privacy Service job was recorded' };
    const job = await this.options.jobs.getJob(jobId);
    if (!job)
      return {
        kind: 'fail',
        code: 'PRIVACY_JOB_MISSING',
        message: `Privacy Service does not know job ${jobId}`,
      };
    const campaignError = job.productResponses.find(
      (r) => r.product.toLowerCase() === 'campaign' && r.status === 'error',
    );
    if (job.status === 'error' || campaignError) {
      return { kind: 'fail', code: 'PRIVACY_JOB_FAILED', message: `Privacy Service ${describeJob(job)}` };
    }
    if (job.status === 'complete') return { kind: 'next', detail: describeJob(job) };
    const delay = Math.min(this.maxPollIntervalMs, this.pollIntervalMs * 2 ** request.attempts);
    return {
      kind: 'stay',
      patch: { attempts: request.attempts + 1, nextAttemptAt: this.options.clock.now() + delay },
      outcome: request.attempts === 0 ? 'waiting' : null,
      detail: describeJob(job),
    };
  }

  private async campaignLeftovers(request: PrivacyRequest): Promise<string[]> {
    const { subject } = this.options;
    const left: string[] = [];
    if (await subject.profileOf(request.contactKey)) left.push('profile');
    else if (request.profilePKey && (await subject.campaignRecord('profile', request.profilePKey)))
      left.push('profile');
    for (const record of request.linked) {
      if (!record.cascade || !record.pkey) continue;
      if (await subject.campaignRecord(record.resource, record.pkey))
        left.push(`${record.resource} ${record.recordKey}`);
    }
    return left;
  }

  /** Not gone yet: look again later, until the attempts run out. */
  private notGone(request: PrivacyRequest, code: ErrorCode, left: readonly string[]): StepResult {
    const what = left.join(', ');
    if (request.attempts + 1 >= this.verifyAttempts) {
      return { kind: 'fail', code, message: `still present after ${this.verifyAttempts} checks: ${what}` };
    }
    const delay = Math.min(this.maxPollIntervalMs, this.pollIntervalMs * 2 ** request.attempts);
    return {
      kind: 'stay',
      patch: { attempts: request.attempts + 1, nextAttemptAt: this.options.clock.now() + delay },
      outcome: 'retrying',
      detail: `still present: ${what}`,
    };
  }

  private async verifyCampaign(request: PrivacyRequest): Promise<StepResult> {
    const left = await this.campaignLeftovers(request);
    if (left.length > 0) return this.notGone(request, 'PRIVACY_CAMPAIGN_NOT_GONE', left);
    const cascading = request.linked.filter((r) => r.cascade && r.pkey).length;
    const kept = request.linked.filter((r) => !r.cascade && r.pkey).length;
    return {
      kind: 'next',
      detail: `profile and ${cascading} cascading linked records gone${kept > 0 ? `; ${kept} linked records without cascade delete remain (see lint)` : ''}`,
    };
  }

  private async deleteInDynamics(request: PrivacyRequest): Promise<StepResult> {
    const { dynamics } = this.options.subject;
    let outcome: 'deleted' | 'absent' = 'absent';
    if (await dynamics.getContact(request.contactKey)) {
      outcome = await dynamics.deleteContact(request.contactKey);
      this.options.onCheckpoint?.('delete-dynamics:deleted', request);
    }
    const history = await dynamics.deleteContactHistory(request.contactKey);
    return {
      kind: 'next',
      detail: `contact ${outcome === 'deleted' ? 'deleted' : 'already absent'}; ${history} change-history entries removed`,
    };
  }

  private async verifyGone(request: PrivacyRequest): Promise<StepResult> {
    const left = await this.campaignLeftovers(request);
    if (await this.options.subject.dynamics.getContact(request.contactKey)) left.push('dynamics contact');
    if (left.length > 0) return this.notGone(request, 'PRIVACY_NOT_GONE', left);
    return { kind: 'next', detail: 'gone from Campaign and Dynamics' };
  }

  private async tombstone(request: PrivacyRequest): Promise<StepResult> {
    const { store, clock } = this.options;
    const keys = this.heldKeys(request);
    if (request.tombstonedAt === null) {
      await store.privacy.tombstone(keys);
      const at = clock.now();
      return {
        kind: 'stay',
        patch: { tombstonedAt: at, nextAttemptAt: at + this.guardRefreshMs },
        outcome: 'waiting',
        detail: `tombstoned ${keys.length} keys`,
      };
    }
    // Once every engine sees the tombstone nothing new is parked on the hold; purge what is left.
    if (clock.now() < request.tombstonedAt + this.guardRefreshMs) {
      return {
        kind: 'stay',
        patch: { nextAttemptAt: request.tombstonedAt + this.guardRefreshMs },
        outcome: null,
        detail: null,
      };
    }
    const records = [
      { flow: 'contacts', recordKey: request.contactKey },
      ...request.linked.filter((r) => r.cascade).map((r) => ({ flow: r.flow, recordKey: r.recordKey })),
    ];
    const purged = await store.privacy.purge(records);
    // Anything parked on the hold since is released: the guard drops it as tombstoned.
    for (const key of keys) await store.parked.release(privacyHoldParent(key));
    await store.privacy.releaseHolds(keys, request.id);
    return {
      kind: 'next',
      detail: `purged ${purged.workItems} queued, ${purged.parked} parked, ${purged.deadLetters} dead letters, ${purged.keyMap} key-map entries; hold released`,
    };
  }

  private auditEntry(
    request: PrivacyRequest,
    action: string,
    outcome: string,
    actor: string,
    detail: string | null = null,
  ): Omit<AuditEntry, 'id'> {
    return {
      at: this.options.clock.now(),
      actor,
      action,
      flow: 'contacts',
      recordKey: request.contactKey,
      fields: [],
      outcome,
      detail: `privacy request ${request.id}${detail ? `: ${detail}` : ''}`,
    };
  }
}

import { formatIso, formatUtcDay } from '../../core/clock.js';
import type { ErrorCode } from '../../core/error-catalogue.js';
import type { Clock } from '../../core/clock.js';
import { SyncError } from '../../core/errors.js';
import {
  PRIVACY_GUARD_REFRESH_MS,
  type PrivacyDeleteStep,
  type PrivacyRequest,
  type PrivacyRequestPatch,
  type PrivacyStepOutcome,
} from '../../core/ports/privacy-store.js';
import type { PrivacyJobSummary } from '../../core/ports/privacy-systems.js';
import type { AuditEntry } from '../../core/ports/state-store.js';
import { computeRetryDelay, resolveRetryPolicy, type ResolvedRetryPolicy } from '../../core/retry-policy.js';
import { releasePrivacyHold } from '../parking.js';
import type { PrivacyRequestRunnerOptions } from './privacy-request-runner.js';

/** What one step of a request came to. */
export type StepResult =
  | { kind: 'next'; patch?: PrivacyRequestPatch; detail: string | null }
  | { kind: 'stay'; patch: PrivacyRequestPatch; outcome: PrivacyStepOutcome | null; detail: string | null }
  | { kind: 'fail'; code: ErrorCode; message: string };

function utcDate(ms: number): string {
  return formatUtcDay(ms);
}

function describeJob(job: PrivacyJobSummary): string {
  const codes = job.productResponses.map((r) => `${r.product}:${r.responseMsgCode || r.status}`);
  return `job ${job.jobId} ${job.status}${codes.length > 0 ? ` (${codes.join(', ')})` : ''}`;
}

/** An audit entry about a privacy request (ids and counts, never personal data). */
export function privacyAuditEntry(
  clock: Clock,
  request: PrivacyRequest,
  action: string,
  outcome: string,
  actor: string,
  detail: string | null = null,
): Omit<AuditEntry, 'id'> {
  return {
    at: clock.now(),
    actor,
    action,
    flow: 'contacts',
    recordKey: request.contactKey,
    fields: [],
    outcome,
    detail: `privacy request ${request.id}${detail ? `: ${detail}` : ''}`,
  };
}

/**
 * The steps of a privacy delete, each idempotent (campaign-api.md §1.10): hold, submit a Privacy
 * Service job, poll it, verify gone from Campaign, delete in Dynamics, verify gone from both,
 * tombstone. The runner decides when each runs and records what it came to.
 */
export class PrivacyDeleteSteps {
  private readonly pollPolicy: ResolvedRetryPolicy;
  private readonly verifyAttempts: number;
  private readonly guardRefreshMs: number;

  constructor(private readonly options: PrivacyRequestRunnerOptions) {
    // The job's status is asked for less and less often, like a retry (no jitter), but never less
    // often than every `maxPollIntervalMs`: the request moves on at the first poll after the job
    // completed, so a long job is not noticed hours late.
    const initialDelayMs = options.pollIntervalMs ?? 60_000;
    this.pollPolicy = resolveRetryPolicy(
      {
        initialDelayMs,
        maxDelayMs: Math.max(initialDelayMs, options.maxPollIntervalMs ?? 60_000),
        jitter: 'none',
      },
      'privacy.pollIntervalMs',
    );
    this.verifyAttempts = options.verifyAttempts ?? 5;
    this.guardRefreshMs = options.guardRefreshMs ?? PRIVACY_GUARD_REFRESH_MS;
  }

  execute(request: PrivacyRequest, step: PrivacyDeleteStep): Promise<StepResult> {
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
      detail: `job ${job.jobId} submitted with ${identities.length} identities (${identities.map((i) => i.namespace).join(', ')}) at ${formatIso(clock.now())}`,
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
    const delay = computeRetryDelay(this.pollPolicy, request.attempts + 1);
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
    const delay = computeRetryDelay(this.pollPolicy, request.attempts + 1);
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
    for (const key of keys) await releasePrivacyHold(store, key);
    await store.privacy.releaseHolds(keys, request.id);
    return {
      kind: 'next',
      detail: `purged ${purged.workItems} queued, ${purged.parked} parked, ${purged.deadLetters} dead letters, ${purged.keyMap} key-map entries; hold released`,
    };
  }
}

import type { Clock } from '../../core/clock.js';
import { SyncError } from '../../core/errors.js';
import type { AlertSink } from '../../core/ports/alert-sink.js';
import type { EngineLogger } from '../../core/ports/engine-logger.js';
import {
  privacyDeleteSteps,
  type PrivacyDeleteStep,
  type PrivacyRequest,
  type PrivacyStep,
} from '../../core/ports/privacy-store.js';
import type { PrivacyJobService } from '../../core/ports/privacy-systems.js';
import type { StateStore } from '../../core/ports/state-store.js';
import { computeRetryDelay, resolveRetryPolicy, type ResolvedRetryPolicy } from '../../core/retry-policy.js';
import { RunRecorder } from '../runs/run-recorder.js';
import { privacyAuditEntry, PrivacyDeleteSteps, type StepResult } from './privacy-delete-steps.js';
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
  /** First wait between status polls of a job; doubles each time up to `maxPollIntervalMs`. @default 60000 */
  pollIntervalMs?: number;
  /**
   * Longest wait between polls (and "gone?" checks): a completed job is seen at most this long
   * after it completed. Never below `pollIntervalMs`. @default 60000
   */
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

/** What one pass over a request did. */
export type PassOutcome = 'moved' | 'waiting' | 'finished' | 'busy';

const finalStates = new Set(['completed', 'failed']);

function nextStepOf(step: PrivacyDeleteStep): PrivacyStep {
  const index = privacyDeleteSteps.indexOf(step);
  return privacyDeleteSteps[index + 1] ?? 'done';
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
  private readonly retryPolicy: ResolvedRetryPolicy;
  private readonly lockTtlMs: number;
  private readonly steps: PrivacyDeleteSteps;
  /** Each delete request is a run (`privacy`, subject: the request id). */
  private readonly runs: RunRecorder;

  constructor(private readonly options: PrivacyRequestRunnerOptions) {
    // Retryable failures back off like any work item (no jitter: one request, one runner).
    this.retryPolicy = resolveRetryPolicy(
      {
        initialDelayMs: options.retryDelayMs ?? 1000,
        maxDelayMs: options.maxRetryDelayMs ?? 60_000,
        jitter: 'none',
      },
      'privacy retry',
    );
    this.lockTtlMs = options.lockTtlMs ?? 60_000;
    this.steps = new PrivacyDeleteSteps(options);
    this.runs = new RunRecorder(options.store.runs, options.logger);
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
      await this.runs.begin({
        flow: 'privacy',
        kind: 'privacy',
        trigger: 'operator-request',
        subject: request.id,
      });
      await this.options.store.audit.append([
        privacyAuditEntry(this.options.clock, request, 'privacy.request', 'requested', input.requestedBy),
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
      [
        privacyAuditEntry(
          this.options.clock,
          request,
          'privacy.access',
          'succeeded',
          input.requestedBy,
          detail,
        ),
      ],
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
      result = await this.steps.execute(request, step);
    } catch (error) {
      if (!(error instanceof SyncError) || !error.retryable) {
        const code = error instanceof SyncError ? error.code : 'PRIVACY_STEP_FAILED';
        const message = error instanceof Error ? error.message : String(error);
        result = { kind: 'fail', code, message: `step ${step}: ${message}` };
      } else {
        const delay = computeRetryDelay(this.retryPolicy, request.attempts + 1);
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
          privacyAuditEntry(
            this.options.clock,
            request,
            `privacy.${step}`,
            'succeeded',
            'engine',
            result.detail,
          ),
          ...(done
            ? [privacyAuditEntry(this.options.clock, request, 'privacy.complete', 'succeeded', 'engine')]
            : []),
        ],
      );
      if (moved) {
        await this.runs.event('privacy', request.id, `step:${step}`, result.detail ?? null);
        if (done)
          await this.runs.end('privacy', request.id, 'succeeded', {
            total: 1,
            counts: { read: 1, deleted: 1 },
          });
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
      [privacyAuditEntry(this.options.clock, request, `privacy.${step}`, 'failed', 'engine', result.code)],
    );
    await this.runs.end('privacy', request.id, 'failed', {
      total: 1,
      detail: `step ${step}: ${result.code}`,
    });
    this.options.logger.error(
      { privacyRequest: request.id, step, code: result.code },
      'privacy request failed; the record stays held',
    );
    return 'failed';
  }
}

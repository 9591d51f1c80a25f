import { dropCreateIntent } from '../core/create-intent.js';
import { formatIso } from '../core/clock.js';
import {
  RecordRejectedError,
  RemoteSetupError,
  SyncError,
  errorCode,
  isRetryable,
  RateLimitedError,
} from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import { planRetry, type ResolvedRetryPolicy, type RetryDecision } from '../core/retry-policy.js';
import type { Completion, StateStore, WorkItem } from '../core/ports/state-store.js';
import type { EngineLogger } from '../core/ports/engine-logger.js';
import type { EngineEvents } from './engine-events.js';
import type { ApplyOutcome } from './engine-stats.js';
import type { FlowRegistry } from './flow.js';
import type { Parking } from './parking.js';
import { failureAuditEntry, withAppliedTrace } from './trace/trace-audit.js';
import { WakeableSleep } from './wakeable-sleep.js';

export interface WorkRunnerOptions {
  store: StateStore;
  /** The task list: each item's flow finds its payload schema and applier here. */
  flows: FlowRegistry;
  parking: Parking;
  events: EngineEvents;
  clock: Clock;
  logger: EngineLogger;
  retryPolicy: ResolvedRetryPolicy;
  /** Worker identity recorded on leases. */
  owner: string;
  /**
   * Items being applied at once (cross-key parallelism). An applied item that waits for its group
   * commit gives its slot back (its key stays leased until that commit); at most `window` of those
   * wait at once. @default 8
   */
  window: number;
  /** @default 60000 */
  leaseMs: number;
  /** Flows this runner may lease; re-read before every lease (paused flows are left out). */
  activeFlows: () => readonly string[];
  /** How long to wait when there is nothing to lease. @default 200 */
  idleWaitMs?: number;
  /** Completions are committed together once this many are pending. @default 64 */
  groupCommitSize?: number;
  /** ...or after this long. @default 15 */
  groupCommitDelayMs?: number;
  /**
   * Group commits in flight at once. A server database (PostgreSQL) commits several at once, so
   * one batch's commit round trips and WAL flush overlap the next; an embedded one (SQLite) runs
   * them one after the other anyway and gains nothing but smaller batches. @default 1
   */
  commitConcurrency?: number;
  random?: () => number;
  /**
   * The fewest free slots worth a lease while items are being applied: fewer, larger leases cost
   * fewer commits (each lease is one), at the price of slots left idle until that many are free.
   * @default a quarter of `window`
   */
  leaseBatch?: number;
  /**
   * Commit the pending completions whenever the runner leases, in the same turn: on SQLite, whose
   * driver commits the calls of one turn together, lease and completions then share one commit
   * (one fsync) instead of one each. A server database gains nothing: its commits overlap. @default false
   */
  completeWithLease?: boolean;
  /**
   * A change failed because the remote is not set up for the flow at all (a {@link RemoteSetupError}:
   * e.g. Campaign's identification key not declared). The change is put back without using an
   * attempt and this is called (pause the flow, alert) instead of failing every record of the flow
   * into a dead letter. Without it, such errors are failures like any other.
   */
  onSetupProblem?: (flow: string, error: RemoteSetupError) => Promise<void>;
  /**
   * Flows whose bulk lane a bulk loader holds now (F7): of these the runner leases only live items.
   * @default none
   */
  bulkHeld?: () => readonly string[];
}

const deadLetterMessages: Record<Extract<RetryDecision, { retry: false }>['reason'], string> = {
  'non-retryable': 'non-retryable failure: dead letter',
  'attempts-exhausted': 'attempts exhausted: dead letter',
  'throttled-too-long': 'throttled longer than engine.retry.maxThrottledMs: dead letter',
};

interface PendingCompletion {
  completion: Completion;
  item: WorkItem;
  outcome: ApplyOutcome;
  /** `performance.now()` when the item's apply started. */
  started: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Leases work items and applies them with bounded parallelism: each item's flow (looked up by id in
 * the {@link FlowRegistry}) validates the payload and applies it; the runner knows nothing of what
 * an applier does. Per-key order comes from the store (one lease per key at a time); completions
 * are group-committed, each with the release of the children its record was the parent of; items
 * that must wait are parked through {@link Parking}; failures are retried with the retry policy (a
 * server's Retry-After wins) or become dead letters with code, reason and attempts.
 */
export class WorkRunner {
  private readonly inFlight = new Map<string, WorkItem>();
  /** Items of {@link inFlight} that are applied and wait for their completion's commit. */
  private committing = 0;
  private pending: PendingCompletion[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  /** Group commits in flight. */
  private readonly commits = new Set<Promise<void>>();
  /** A flush was asked for while {@link commitConcurrency} commits were in flight. */
  private flushWanted = false;
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly idle = new WakeableSleep();
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly idleWaitMs: number;
  private readonly groupCommitSize: number;
  private readonly groupCommitDelayMs: number;
  private readonly commitConcurrency: number;
  private readonly random: () => number;
  private readonly leaseBatch: number;
  private readonly completeWithLease: boolean;

  constructor(private readonly options: WorkRunnerOptions) {
    this.idleWaitMs = options.idleWaitMs ?? 200;
    this.groupCommitSize = options.groupCommitSize ?? 64;
    this.groupCommitDelayMs = options.groupCommitDelayMs ?? 15;
    this.commitConcurrency = Math.max(1, options.commitConcurrency ?? 1);
    this.random = options.random ?? Math.random;
    this.leaseBatch = Math.max(
      1,
      Math.min(options.window, options.leaseBatch ?? Math.floor(options.window / 4)),
    );
    this.completeWithLease = options.completeWithLease ?? false;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.heartbeat = setInterval(
      () => void this.extendLeases(),
      Math.max(1000, Math.floor(this.options.leaseMs / 3)),
    );
    this.heartbeat.unref();
    this.loop = this.run();
  }

  /** Something was staged: lease now instead of waiting for the idle timer. */
  wake(): void {
    this.idle.wake();
  }

  /** Stop leasing, let in-flight items finish, commit their completions. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private async run(): Promise<void> {
    const tasks = new Set<Promise<void>>();
    while (this.running) {
      const free = this.freeSlots();
      let leased: WorkItem[] = [];
      if (free > 0 && free < this.leaseFloor()) {
        // A slot or two came back while most are still applying: wait for more (each completion
        // wakes this loop) rather than pay a lease statement per item.
        await this.sleep(1000);
        continue;
      }
      if (free > 0) {
        const flows = this.options.activeFlows();
        if (flows.length > 0) {
          // The completions pending now commit with the lease (SQLite: one commit for both).
          if (this.completeWithLease) this.flush();
          try {
            leased = await this.leaseSome(flows, free);
          } catch (error) {
            this.options.logger.error({ err: error }, 'leasing work failed; retrying');
            await this.sleep(1000);
            continue;
          }
        }
      }
      for (const item of leased) {
        this.inFlight.set(item.id, item);
        const task = this.process(item).finally(() => {
          this.inFlight.delete(item.id);
          tasks.delete(task);
          this.wake();
        });
        tasks.add(task);
      }
      if (leased.length === 0 || this.freeSlots() <= 0) {
        await this.sleep(leased.length === 0 ? this.idleWaitMs : 1000);
      }
    }
    await Promise.allSettled([...tasks]);
    await this.drain();
  }

  /**
   * Lease up to `limit` items of `flows`, only live ones of the flows a bulk loader holds. Each comes
   * with its key-map entry, which record appliers would otherwise read at once, a round trip each.
   */
  private async leaseSome(flows: readonly string[], limit: number): Promise<WorkItem[]> {
    const { store, owner, leaseMs } = this.options;
    const held = this.options.bulkHeld?.() ?? [];
    // Record flows: the lease writes the create intents of keys without a key-map entry in its own
    // commit, so an item's create waits for no write of its own before the Campaign call.
    // Other flows (F6's events) have no key-map entries to read: their leases skip the read.
    const lease = (request: { limit: number; flows: readonly string[]; lanes?: ['live'] }) => {
      const createIntents = this.options.flows.intentsAtLease(request.flows);
      return store.queue.lease({
        owner,
        leaseMs,
        withKeyMap: createIntents.length > 0,
        createIntents,
        ...request,
      });
    };
    if (held.length === 0) return lease({ limit, flows });
    const live = await lease({ limit, flows: flows.filter((f) => held.includes(f)), lanes: ['live'] });
    const rest = await lease({ limit: limit - live.length, flows: flows.filter((f) => !held.includes(f)) });
    return [...live, ...rest];
  }

  /**
   * Apply an item leased under this runner's owner by someone else (the bulk loader hands over what
   * a file cannot carry): processed, retried, parked or dead-lettered like any leased item.
   */
  applyLeased(item: WorkItem): void {
    this.inFlight.set(item.id, item);
    void this.process(item).finally(() => {
      this.inFlight.delete(item.id);
      this.wake();
    });
  }

  /**
   * Slots to lease for: `window` minus the items being applied, within `2 × window` in flight (the
   * items waiting for their group commit hold their leases, not a slot).
   */
  private freeSlots(): number {
    const { window } = this.options;
    return Math.min(window - (this.inFlight.size - this.committing), 2 * window - this.inFlight.size);
  }

  /**
   * The fewest free slots worth a lease while items are still being applied ({@link
   * WorkRunnerOptions.leaseBatch}). Leasing one item per completion cost a lease statement — a
   * commit, so on SQLite a WAL fsync — per item, which is what bounded a worker's throughput (bench
   * sync-throughput). With nothing being applied, any free slot leases.
   */
  private leaseFloor(): number {
    const applying = this.inFlight.size - this.committing;
    return applying > 0 ? this.leaseBatch : 1;
  }

  private sleep(ms: number): Promise<void> {
    return this.idle.sleep(ms);
  }

  private async process(item: WorkItem): Promise<void> {
    const started = performance.now();
    try {
      const flow = this.options.flows.get(item.flow);
      if (!flow) {
        throw new RecordRejectedError(
          item.recordKey,
          'FLOW_UNKNOWN',
          `work item ${item.id} (record ${item.recordKey}) belongs to flow "${item.flow}", which is not configured in this process`,
        );
      }
      const payload = flow.payload.safeParse(item.payload);
      if (!payload.success) {
        const where = payload.error.issues
          .slice(0, 3)
          .map((issue) => `${issue.path.join('.') || '(payload)'}: ${issue.message}`)
          .join('; ');
        // A create intent the lease wrote for the item stays only for an applier that may create.
        if (item.intentWritten === true)
          await dropCreateIntent(this.options.store.keyMap, item.flow, item.recordKey);
        throw new RecordRejectedError(
          item.recordKey,
          'PAYLOAD_INVALID',
          `work item ${item.id} of flow ${flow.id} (record ${item.recordKey}) does not hold a valid payload: ${where}`,
        );
      }
      const result = await flow.applier.apply(item, payload.data);
      if (result.kind === 'park') {
        await this.options.parking.park(item, this.options.owner, result.parent, result.reason, {
          at: this.options.clock.now(),
          state: result.state,
        });
        return;
      }
      const release = result.landed
        ? this.options.parking.releaseOnLanding(item.flow, item.recordKey)
        : undefined;
      const effects = withAppliedTrace(item, result.outcome, result.effects, this.options.clock.now());
      const orphan = result.outOfScope
        ? this.options.parking.orphanOnLeavingScope(item.flow, item.recordKey)
        : undefined;
      await this.complete({
        completion: {
          id: item.id,
          owner: this.options.owner,
          effects: {
            ...effects,
            ...(release ? { releaseParked: release } : {}),
            ...(orphan ? { orphanParked: orphan } : {}),
          },
        },
        item,
        outcome: result.outcome,
        started,
      });
    } catch (error) {
      await this.handleFailure(item, error);
    }
  }

  private async handleFailure(item: WorkItem, error: unknown): Promise<void> {
    if (error instanceof RemoteSetupError && this.options.onSetupProblem) {
      await this.holdForSetup(item, error, this.options.onSetupProblem);
      return;
    }
    const code = errorCode(error);
    const retryable = isRetryable(error);
    const throttled = error instanceof RateLimitedError;
    const now = this.options.clock.now();
    const decision = planRetry(
      this.options.retryPolicy,
      {
        attempts: item.attempts,
        retryable,
        throttled,
        retryAfterMs: throttled ? error.retryAfterMs : undefined,
        firstFailedAt: item.firstFailedAt,
        now,
      },
      this.random,
    );
    let message = error instanceof Error ? error.message : String(error);
    if (!decision.retry && decision.reason === 'throttled-too-long') {
      message += ` (throttled since ${formatIso(item.firstFailedAt ?? now)}, longer than engine.retry.maxThrottledMs)`;
    }
    const retryAt = decision.retry ? decision.retryAt : null;
    const attempts = item.attempts - (decision.retry && !decision.countsAttempt ? 1 : 0);
    try {
      await this.options.store.queue.fail({
        id: item.id,
        owner: this.options.owner,
        error: { code, message, retryable },
        retryAt,
        ...(decision.retry ? { countsAttempt: decision.countsAttempt } : {}),
        audit: [failureAuditEntry(item, { code, message, retryAt, attempts }, now)],
      });
    } catch (storeError) {
      this.options.logger.error(
        { err: storeError, flow: item.flow, recordKey: item.recordKey },
        'recording a failure failed',
      );
      return;
    }
    this.options.events.emit('item.failed', {
      flow: item.flow,
      lane: item.lane,
      recordKey: item.recordKey,
      code,
      deadLettered: !decision.retry,
      throttled,
    });
    if (!decision.retry) {
      this.options.logger.warn(
        { flow: item.flow, recordKey: item.recordKey, code, attempts: item.attempts },
        deadLetterMessages[decision.reason],
      );
    } else {
      this.options.logger.info(
        {
          flow: item.flow,
          recordKey: item.recordKey,
          code,
          attempts: item.attempts,
          throttled,
          retryInMs: decision.retryAt - now,
        },
        'retry scheduled',
      );
    }
    if (!(error instanceof SyncError)) {
      this.options.logger.error(
        { err: error, flow: item.flow, recordKey: item.recordKey },
        'unexpected error applying a change',
      );
    }
  }

  /**
   * The flow cannot work until the remote is set up: report it first (the flow pauses, so the
   * change is not leased again), then put the change back as it was — no attempt used, no dead
   * letter — with the failure in its trace.
   */
  private async holdForSetup(
    item: WorkItem,
    error: RemoteSetupError,
    report: (flow: string, error: RemoteSetupError) => Promise<void>,
  ): Promise<void> {
    const now = this.options.clock.now();
    try {
      await report(item.flow, error);
      await this.options.store.queue.fail({
        id: item.id,
        owner: this.options.owner,
        error: { code: error.code, message: error.message, retryable: false },
        retryAt: now,
        countsAttempt: false,
        audit: [
          failureAuditEntry(
            item,
            { code: error.code, message: error.message, retryAt: now, attempts: item.attempts - 1 },
            now,
          ),
        ],
      });
    } catch (storeError) {
      this.options.logger.error(
        { err: storeError, flow: item.flow, recordKey: item.recordKey },
        'holding a change for a setup problem failed',
      );
      return;
    }
    this.options.logger.warn(
      { flow: item.flow, recordKey: item.recordKey, code: error.code },
      'remote not set up for this flow: change kept, flow paused',
    );
  }

  /** Resolves once the completion is committed; meanwhile the item's slot is free (see `window`). */
  private complete(entry: Omit<PendingCompletion, 'resolve' | 'reject'>): Promise<void> {
    this.committing++;
    this.wake();
    const committed = new Promise<void>((resolve, reject) => {
      this.pending.push({ ...entry, resolve, reject });
      if (this.pending.length >= this.groupCommitSize) {
        this.flush();
      } else if (!this.flushTimer) {
        this.flushTimer = setTimeout(() => this.flush(), this.groupCommitDelayMs);
      }
    });
    return committed.finally(() => {
      this.committing--;
    });
  }

  /**
   * Commit the pending completions, with the release of their children, in one transaction — now
   * if fewer than {@link commitConcurrency} commits are in flight, else as soon as one ends (with
   * everything pending by then).
   */
  private flush(): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    if (this.pending.length === 0) return;
    if (this.commits.size >= this.commitConcurrency) {
      this.flushWanted = true;
      return;
    }
    const batch = this.pending;
    this.pending = [];
    const commit = this.commit(batch).finally(() => {
      this.commits.delete(commit);
      if (this.flushWanted) {
        this.flushWanted = false;
        this.flush();
      }
    });
    this.commits.add(commit);
  }

  /** Commit everything pending and wait for every commit in flight. */
  private async drain(): Promise<void> {
    while (this.pending.length > 0 || this.commits.size > 0) {
      this.flush();
      await Promise.allSettled([...this.commits]);
    }
  }

  private async commit(batch: readonly PendingCompletion[]): Promise<void> {
    let outcomes: string[];
    try {
      outcomes = await this.options.store.queue.completeMany(batch.map((p) => p.completion));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    const now = this.options.clock.now();
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!;
      if (outcomes[i] === 'lost') {
        this.options.logger.warn(
          { flow: p.item.flow, recordKey: p.item.recordKey },
          'lease lost before completion; another worker owns the item',
        );
      } else {
        const { events } = this.options;
        events.emit('item.applied', {
          flow: p.item.flow,
          lane: p.item.lane,
          outcome: p.outcome,
          elapsedMs: performance.now() - p.started,
          lagMs: Math.max(0, now - p.item.enqueuedAt),
        });
        const released = p.completion.effects?.releaseParked;
        if (released) events.emit('item.released', { parent: released, count: null });
      }
      p.resolve();
    }
  }

  /** One statement per 500 items in flight (one each cost a commit, on SQLite a WAL fsync, apiece). */
  private async extendLeases(): Promise<void> {
    const ids = [...this.inFlight.keys()];
    if (ids.length === 0) return;
    try {
      await this.options.store.queue.extendLeases(ids, this.options.owner, this.options.leaseMs);
    } catch (error) {
      this.options.logger.warn({ err: error, items: ids.length }, 'lease heartbeat failed');
    }
  }
}

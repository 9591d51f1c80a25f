import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../core/clock.js';
import { SyncError, type RemoteSetupError } from '../core/errors.js';
import type { AlertSink } from '../core/ports/alert-sink.js';
import type { CallBudgetUsage } from '../core/ports/call-budget.js';
import type { EngineLogger } from '../core/ports/engine-logger.js';
import type { StateStore } from '../core/ports/state-store.js';
import { resolveRetryPolicy, type RetryPolicyOptions } from '../core/retry-policy.js';
import type { JsonObject } from '../core/json.js';
import { EngineEvents } from './engine-events.js';
import { EngineStats, lagWindowMs } from './engine-stats.js';
import { FeedPoller } from './feed-poller.js';
import { FlowControl } from './flow-control.js';
import { collectFlowStatuses, type FlowStatus, type StatusFlow } from './flow-status.js';
import { FlowRegistry, type Flow } from './flow.js';
import type { BreakerSettings } from './mass-change-breaker.js';
import { Parking } from './parking.js';
import { DutyRoster, type DutyTiming } from './duty.js';
import { RunTracker } from './runs/run-tracker.js';
import type { RunView } from './runs/run-view.js';
import { BulkLoader, type BulkLaneSettings } from './records/bulk-loader.js';
import { WorkRunner } from './work-runner.js';
import { WorkerRegistry, type WorkerIdentity, type WorkerTiming } from './worker-registry.js';

export interface SyncEngineOptions {
  store: StateStore;
  /** Every flow this process knows: the runner's task list; flows with a feed are polled. */
  flows: readonly Flow<unknown>[];
  clock: Clock;
  logger: EngineLogger;
  alerts: AlertSink;
  /** The event bus to report on (status, metrics and progress subscribe). @default a new one */
  events?: EngineEvents;
  /** Items in flight at once. @default 8 */
  workers?: number;
  /**
   * How long a work item stays leased to one worker before others may take it; also bounds how
   * long a crashed process's poller lock blocks a restarted one (at most 30 s). @default 60000
   */
  leaseMs?: number;
  /** Feed poll interval. @default 5000 */
  pollIntervalMs?: number;
  retry?: RetryPolicyOptions;
  /** @default { maxShare: 0.2, minRecords: 1000 } */
  breaker?: BreakerSettings;
  /** Flows fed by an event journal (F6), shown in status with what the journal read. @default [] */
  journalFlows?: readonly StatusFlow[];
  /** Run the pollers (one process per feed is elected). @default true */
  poll?: boolean;
  /** Run the workers. @default true */
  work?: boolean;
  /** Worker identity (the owner of its leases and duties). @default worker.identity.id, else host:pid:random */
  owner?: string;
  /**
   * This worker in the registry: who it is (checked against the live workers and the store's
   * schema at start), heartbeat timing, one-process stores (SQLite). Without it the worker still
   * reports, unchecked (tests, embedders).
   */
  worker?: {
    identity: WorkerIdentity;
    timing?: WorkerTiming;
    single?: { isProcessAlive(pid: number): boolean; host: string };
  };
  /** The worker's duties (shared with the services that hold duties of their own). @default a new roster */
  duties?: DutyRoster;
  /** TTL and attempt interval of the duties the engine creates (pollers). @default { ttlMs: 10000 } */
  dutyTiming?: DutyTiming;
  /** Sources with a loop of their own (e.g. the opt-out export ingestor), run with the engine. @default none */
  services?: readonly SourceService[];
  /** This worker's budget slice, published with its heartbeat (the call budget's usage). */
  publish?: () => JsonObject;
  /** The Campaign call budget: the calls of a run and the rate that bounds its ETA. @default unknown */
  callBudget?: { usage(): CallBudgetUsage };
  /** Ended runs are kept this long (`history.runRetentionDays`). @default 90 */
  runRetentionDays?: number;
  /** How often run counts are written and run progress announced. @default 1000 */
  runFlushIntervalMs?: number;
  /** Record flows with a bulk lane (F7, docs/bulk-loads.md). @default none */
  bulkLanes?: readonly BulkLaneSettings[];
}

/**
 * A source that runs its own loop next to the engine and stages into (or applies for) its flows —
 * the opt-out export ingestor reads files from the Campaign SFTP server. Started, stopped and
 * waited for together with the engine.
 */
export interface SourceService {
  /**
   * A source read from a journal can read it again from a date (`dcsync replay --flow … --since`):
   * the flow it stages for, and how to ask (`sinceMs` null: from its oldest retained event).
   */
  readonly replay?: {
    flowId: string;
    request(sinceMs: number | null): Promise<{ since: number; resumed: boolean }>;
  };
  start(): void;
  /** Stop and wait for work in progress to reach a safe point. */
  stop(): Promise<void>;
  /** Nothing left to do right now; part of {@link SyncEngine.isIdle}. */
  isIdle(): boolean | Promise<boolean>;
}

export interface RunSummary {
  created: number;
  updated: number;
  adopted: number;
  deleted: number;
  unchanged: number;
  'skipped-foreign': number;
  filtered: number;
  parked: number;
  'dead-lettered': number;
  retried: number;
  elapsedMs: number;
}

/**
 * The streaming engine: one poller per flow stages changes into the durable inbox; a worker pool
 * applies them to Campaign. Everything needed to resume lives in the store.
 */
export class SyncEngine {
  readonly stats: EngineStats;
  readonly control: FlowControl;
  readonly events: EngineEvents;
  readonly registry: FlowRegistry;
  /** Runs of the flows read from a feed (initial load, replay, re-baseline) and their progress. */
  readonly runs: RunTracker;
  private readonly pollers = new Map<string, FeedPoller>();
  private readonly runner: WorkRunner | null;
  /** The bulk lanes this worker may run (one worker at a time per flow, by duty). */
  private readonly bulkLoaders: BulkLoader[] = [];
  /**
   * Flows whose bulk lane is held as the store says (whichever worker's lane holds it, or a crashed
   * one's files still in flight), read with the flow control.
   */
  private bulkHeldInStore: readonly string[] = [];
  private controlTimer: NodeJS.Timeout | null = null;
  /** This worker's row in the registry. */
  readonly worker: WorkerRegistry;
  /** The singleton duties this worker holds or tries to hold. */
  readonly duties: DutyRoster;
  private started = false;
  private startedAt = 0;

  constructor(private readonly options: SyncEngineOptions) {
    const { store, clock, logger } = options;
    this.registry = new FlowRegistry(options.flows);
    this.events =
      options.events ??
      new EngineEvents((error, event) =>
        logger.warn({ err: error, event }, 'an engine event listener failed'),
      );
    this.stats = new EngineStats(clock);
    this.stats.subscribe(this.events);
    this.control = new FlowControl(store, clock);
    this.runs = new RunTracker({
      store,
      clock,
      logger,
      events: this.events,
      control: this.control,
      // Journal flows (F6) have runs too: their replays.
      flows: [...this.registry.fed.map((f) => f.id), ...(options.journalFlows ?? []).map((f) => f.id)],
      callBudget: options.callBudget,
      ...(options.runRetentionDays === undefined ? {} : { retentionDays: options.runRetentionDays }),
      ...(options.runFlushIntervalMs === undefined ? {} : { flushIntervalMs: options.runFlushIntervalMs }),
    });
    const owner =
      options.owner ??
      options.worker?.identity.id ??
      `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.duties =
      options.duties ?? new DutyRoster({ store, clock, logger, owner, timing: options.dutyTiming });
    this.worker = new WorkerRegistry({
      store,
      clock,
      logger,
      identity: options.worker?.identity ?? {
        id: owner,
        host: hostname(),
        pid: process.pid,
        version: '0.0.0',
        schemaVersion: 0,
      },
      checks: options.worker !== undefined,
      duties: this.duties,
      timing: options.worker?.timing,
      single: options.worker?.single,
      itemsLeased: () => this.runner?.inFlightCount ?? 0,
      budget: () => (options.publish ? options.publish() : null),
    });
    const parking = new Parking(store, this.registry, this.events);
    this.runner =
      options.work === false
        ? null
        : new WorkRunner({
            store,
            flows: this.registry,
            parking,
            events: this.events,
            clock,
            logger,
            retryPolicy: resolveRetryPolicy(options.retry),
            owner,
            window: options.workers ?? 8,
            leaseMs: options.leaseMs ?? 60_000,
            // One SQLite connection commits one batch at a time anyway.
            commitConcurrency: store.dialect === 'sqlite' ? 1 : 2,
            // SQLite: half-window leases that carry the pending completions, one commit for both
            // (bench sync-throughput: about half the commits of quarter-window leases with their
            // own completion commits). PostgreSQL overlaps its round trips and keeps the defaults.
            ...(store.dialect === 'sqlite'
              ? { leaseBatch: Math.max(1, Math.floor((options.workers ?? 8) / 2)), completeWithLease: true }
              : {}),
            // A flow that writes in batches (F6's `$batch`) finishes a whole batch's items at once:
            // they share one commit rather than one per 64.
            groupCommitSize: Math.max(64, options.workers ?? 8),
            activeFlows: () => this.registry.ids.filter((id) => !this.control.isPaused(id)),
            onSetupProblem: (flow, error) => this.pauseForSetup(flow, error),
            bulkHeld: () => [
              ...this.bulkLoaders.filter((l) => l.holdsBulkLane).map((l) => l.flowId),
              ...this.bulkHeldInStore,
            ],
          });
    const runner = this.runner;
    if (runner) {
      for (const settings of options.bulkLanes ?? []) {
        this.bulkLoaders.push(
          new BulkLoader({
            settings,
            store,
            clock,
            logger,
            events: this.events,
            parking,
            duty: this.duties.duty(`bulk:${settings.flow.id}`),
            owner,
            leaseMs: options.leaseMs ?? 60_000,
            handOver: (item) => runner.applyLeased(item),
            // While this worker's poller of the flow is still reading, more rows are coming.
            sourceReading: () => {
              const poller = this.pollers.get(settings.flow.id);
              return (
                poller !== undefined &&
                (!poller.caughtUp || poller.replaying) &&
                !this.control.isPaused(settings.flow.id)
              );
            },
          }),
        );
      }
    }
    this.events.on('item.staged', () => this.runner?.wake());
    if (options.poll !== false) {
      for (const flow of this.registry.fed) {
        this.pollers.set(
          flow.id,
          new FeedPoller({
            flow,
            store,
            clock,
            logger,
            alerts: options.alerts,
            control: this.control,
            parking,
            events: this.events,
            breaker: options.breaker ?? { maxShare: 0.2, minRecords: 1000 },
            duty: this.duties.duty(`poller:${flow.id}`),
            pollIntervalMs: options.pollIntervalMs ?? 5000,
          }),
        );
      }
    }
  }

  /** The flows read from a change feed, with what they read (`table`), for status and commands. */
  get flows(): readonly { id: string; table: string }[] {
    return this.registry.fed.map((f) => ({ id: f.id, table: f.feed.table }));
  }

  async start(): Promise<void> {
    if (this.started) return;
    // Refuses to start next to an incompatible worker or a second process on SQLite.
    await this.worker.register();
    this.started = true;
    this.startedAt = this.options.clock.now();
    await this.control.refresh(this.registry.ids);
    // Before the runner leases: a lane held in the store (maybe by a crashed process with files
    // still importing) keeps this worker's runner off the flow's bulk items (I5 across lanes).
    await this.refreshBulkHolds();
    this.controlTimer = setInterval(() => {
      this.refreshBulkHolds().catch((error: unknown) => {
        this.options.logger.warn({ err: error }, 'reading the bulk lane holds failed');
      });
      this.control.refresh(this.registry.ids).catch((error: unknown) => {
        this.options.logger.warn({ err: error }, 'refreshing flow control failed');
      });
    }, 2000);
    this.controlTimer.unref();
    // Before the pollers: a run in progress is found again before its read reports on.
    await this.runs.start();
    for (const poller of this.pollers.values()) poller.start();
    this.runner?.start();
    for (const loader of this.bulkLoaders) loader.start();
    for (const companion of this.options.services ?? []) companion.start();
    this.worker.start();
  }

  /** Graceful drain: stop reading, finish in-flight writes, commit. */
  async stop(): Promise<void> {
    if (!this.started) return;
    if (this.controlTimer) clearInterval(this.controlTimer);
    await this.worker.drain();
    // At once and together: the runner takes no new lease and finishes its in-flight items; the
    // pollers and services stop and release their duties for another worker to take without
    // waiting for the duty TTL.
    await Promise.all([
      ...[...this.pollers.values()].map((p) => p.stop()),
      ...(this.options.services ?? []).map((c) => c.stop()),
      ...this.bulkLoaders.map((l) => l.stop()),
      this.runner?.stop(),
    ]);
    await this.duties.stopAll();
    await this.runs.stop();
    await this.worker.stop();
    this.started = false;
    this.events.emit('engine.stopped', { at: this.options.clock.now() });
  }

  private async refreshBulkHolds(): Promise<void> {
    const { clock } = this.options;
    const held: string[] = [];
    for (const loader of this.bulkLoaders)
      if (await loader.reservedInStore(clock.now())) held.push(loader.flowId);
    this.bulkHeldInStore = held;
  }

  /** Read now (webhook notification or operator request). */
  wake(flowId?: string): void {
    for (const [id, poller] of this.pollers) if (!flowId || id === flowId) poller.wake();
  }

  /**
   * Ask for a replay of a flow: every row of its table again, or for a flow read from a journal
   * (F6) its events from `sinceMs` (default: the oldest retained). `since` only applies to those.
   */
  async requestReplay(
    flowId: string,
    options: { sinceMs?: number | null } = {},
  ): Promise<{ since: number | null; resumed: boolean }> {
    const journal = (this.options.services ?? []).find((s) => s.replay?.flowId === flowId)?.replay;
    if (journal) return journal.request(options.sinceMs ?? null);
    const poller = this.pollers.get(flowId);
    if (!poller) throw new Error(`no flow "${flowId}"`);
    if (options.sinceMs !== undefined && options.sinceMs !== null)
      throw new SyncError(
        'REPLAY_SINCE_INVALID',
        `flow ${flowId} reads table ${this.registry.get(flowId)?.feed?.table ?? flowId}: a replay re-reads every row, so --since does not apply (it does for flows read from a journal, e.g. emailEvents)`,
      );
    const resumed = (await poller.readReplay()) !== null;
    await poller.requestReplay();
    return { since: null, resumed };
  }

  /** Every source caught up, no replay pending, and nothing queued or in flight. */
  /**
   * A change of `flow` met a remote that is not set up for it (e.g. Campaign's identification key
   * not declared): every change of the flow would fail the same way, so the flow pauses with the
   * remote's instruction as the reason, and one critical alert says what to fix. Once per pause.
   */
  private async pauseForSetup(flow: string, error: RemoteSetupError): Promise<void> {
    if (this.control.isPaused(flow)) return;
    await this.control.pause(flow, `${error.code}: ${error.message}`);
    this.options.logger.error({ flow, code: error.code }, 'remote not set up for this flow: flow paused');
    await this.options.alerts.raise({
      kind: 'flow-paused',
      severity: 'critical',
      subject: flow,
      message: `Flow ${flow} paused, its changes kept (no dead letters): ${error.message} (${error.code}). Resume with "dcsync flow resume --flow ${flow}" once fixed.`,
      at: this.options.clock.now(),
    });
  }

  async isIdle(): Promise<boolean> {
    for (const poller of this.pollers.values()) {
      if (this.control.isPaused(poller.flowId)) continue;
      if (!poller.caughtUp) return false;
      if (await poller.readReplay()) return false;
    }
    for (const companion of this.options.services ?? []) if (!(await companion.isIdle())) return false;
    if (!this.bulkLoaders.every((l) => l.isIdle())) return false;
    if ((this.runner?.inFlightCount ?? 0) > 0) return false;
    const backlog = await this.options.store.queue.backlog();
    return backlog.every((b) => this.control.isPaused(b.flow) || b.queued + b.leased === 0);
  }

  /** Nothing queued or in flight (sources may still have unread changes). */
  private async isDrained(): Promise<boolean> {
    if ((this.runner?.inFlightCount ?? 0) > 0) return false;
    // A bulk lane at work holds items; asked every check, the backlog would read the whole inbox.
    if (!this.bulkLoaders.every((l) => l.isIdle())) return false;
    const backlog = await this.options.store.queue.backlog();
    return backlog.every((b) => this.control.isPaused(b.flow) || b.queued + b.leased === 0);
  }

  /**
   * Start, wait until idle (checked `stableChecks` times in a row) or until `signal` aborts, stop
   * (graceful drain), summarise.
   */
  async runUntilIdle(
    options: {
      checkIntervalMs?: number;
      stableChecks?: number;
      timeoutMs?: number;
      signal?: AbortSignal;
    } = {},
  ): Promise<RunSummary> {
    await this.start();
    const interval = options.checkIntervalMs ?? 200;
    const needed = options.stableChecks ?? 2;
    const deadline = options.timeoutMs ? this.options.clock.now() + options.timeoutMs : Infinity;
    let stable = 0;
    // A poller's `caughtUp` is what its last read found. An idle check counts only once every
    // poller finished a read that started after the previous counted check woke it, so a change
    // made while a read was in flight (or found by a read that retries) is never left behind; an
    // idle check that still waits for that read neither counts nor resets the count.
    let marks: Map<FeedPoller, number> | null = null;
    const readSinceMarks = (): boolean =>
      marks !== null &&
      [...marks].every(([poller, mark]) => this.control.isPaused(poller.flowId) || poller.readSince(mark));
    let reportedAt: number | null = null;
    // Every second, or less often when the backlog is slow to count (a whole inbox is read): the
    // report never takes more than ~5 % of the process.
    let reportEveryMs = 1000;
    while (stable < needed && !options.signal?.aborted) {
      if (this.options.clock.now() > deadline) {
        await this.stop();
        throw new Error('timed out waiting for the sync to become idle');
      }
      await new Promise((r) => setTimeout(r, interval));
      const idle = await this.isIdle();
      const confirmed = idle && readSinceMarks();
      if (!idle) stable = 0;
      else if (confirmed) stable++;
      const now = this.options.clock.now();
      if (stable === 0 && (reportedAt === null || now - reportedAt >= reportEveryMs)) {
        reportedAt = now;
        const started = performance.now();
        await this.reportPendingWork();
        reportEveryMs = Math.min(60_000, Math.max(1000, 20 * (performance.now() - started)));
      }
      // Once the inbox is drained, confirm the sources are caught up now rather than at their
      // next poll (a delta read that staged changes leaves its poller asleep a whole interval).
      if (idle || (await this.isDrained())) {
        // A new mark once the last one is confirmed (or none was taken): the next counted check
        // needs a read that starts after this wake.
        if (marks === null || confirmed || !idle) marks = this.readMarks();
        this.wake();
      }
    }
    await this.stop();
    return this.summary();
  }

  /** Each poller's {@link FeedPoller.readMark}. */
  private readMarks(): Map<FeedPoller, number> {
    return new Map([...this.pollers.values()].map((p) => [p, p.readMark()]));
  }

  /** Say what remains in the inbox (a piped `run --until-idle` is never silent while it works). */
  private async reportPendingWork(): Promise<void> {
    const backlog = await this.options.store.queue.backlog();
    this.events.emit('work.pending', {
      queued: backlog.reduce((n, b) => n + b.queued, 0),
      leased: backlog.reduce((n, b) => n + b.leased, 0),
      writtenPerSecond: this.stats.throughput(),
    });
  }

  summary(): RunSummary {
    const t = this.stats.totals();
    return {
      created: t.created,
      updated: t.updated,
      adopted: t.adopted,
      deleted: t.deleted,
      unchanged: t.unchanged,
      'skipped-foreign': t['skipped-foreign'],
      filtered: t.filtered,
      parked: t.parked,
      'dead-lettered': t['dead-lettered'],
      retried: t.retried,
      elapsedMs: this.options.clock.now() - this.startedAt,
    };
  }

  async flowStatuses(): Promise<FlowStatus[]> {
    await this.control.refresh(this.registry.ids);
    const journals = this.options.journalFlows ?? [];
    const eventLags = Object.fromEntries(
      journals.map((flow) => {
        const lag = this.stats.eventLagPercentiles(flow.id);
        return [flow.id, lag ? { p50Ms: lag.p50, p99Ms: lag.p99, windowMs: lagWindowMs } : null];
      }),
    );
    return collectFlowStatuses(
      this.options.store,
      this.options.clock,
      [
        ...this.registry.fed.map((f) => {
          const flow = { id: f.id, table: f.feed.table, direction: f.direction };
          const lane = this.options.bulkLanes?.find((l) => l.flow.id === f.id);
          return lane ? { ...flow, bulk: lane } : flow;
        }),
        ...journals.map((flow) => ({
          ...flow,
          journal: true,
          direction: this.registry.get(flow.id)?.direction ?? flow.direction ?? 'campaign-to-dynamics',
        })),
      ],
      this.stats.byFlow(),
      this.runs.views(),
      eventLags,
    );
  }

  /** A run as shown now: live rate and ETA when this process follows it, else from the store. */
  liveRun(id: string): RunView | null {
    return this.runs.view(id);
  }
}

export type { FlowStatus } from './flow-status.js';

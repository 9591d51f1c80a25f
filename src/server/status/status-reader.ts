import { readWorkers, type WorkersView } from '../../engine/worker-registry.js';
import type { BacklogEntry, RetryingEntry } from '../../core/ports/state-store.js';
import type { CallBudgetUsage } from '../../core/ports/call-budget.js';
import { lagWindowMs, type OutcomeCounts } from '../../engine/engine-stats.js';
import type { FlowStatus } from '../../engine/sync-engine.js';
import type { FlowBulkLaneStatus, FlowJournalStatus } from '../../engine/flow-status.js';
import type { FlowPhase, RunView } from '../../engine/runs/run-view.js';
import {
  assessHealth,
  type HealthSeverity,
  type HealthProblemKind,
} from '../../engine/health/health-assessment.js';
import type {
  OptOutFileProblemView,
  OptOutFreshnessView,
  OptOutUsageView,
} from '../providers/opt-out-provider.js';
import type { ServerDependencies } from '../server-dependencies.js';

/** One flow as the API shows it (no delta links: they are opaque tokens of the tenant). */
export interface FlowView {
  id: string;
  table: string;
  state: 'running' | 'paused';
  /** Why the flow is paused (operator text or breaker verdict). */
  reason: string | null;
  /** Since when the flow is in its state (ms). */
  since: number;
  /** True when paused by the mass-change breaker (resume with acceptMassChange). */
  breakerTripped: boolean;
  /** What the flow is doing: `initial load`, `replay`, `re-baseline` while such a run is active, else `live`. */
  phase: FlowPhase;
  /** The flow's active run with its written progress (total, done, percent, rate, ETA); null when none. */
  run: RunView | null;
  /** Read position of the feed: initial, delta, rebaseline, rebaseline-finish. */
  readPhase: string;
  /** Rows read in the current read run. */
  runRows: number;
  /** When the last read reached its final page (ms). */
  caughtUpAt: number | null;
  replay: { rows: number; total: number | null; startedAt: number } | null;
  backlog: FlowStatus['backlog'];
  lagMs: number | null;
  /** Changes that failed and wait for a retry (not dead letters yet). */
  retrying: number;
  deadLetters: number;
  /** Children waiting for a parent that has not landed yet. */
  parked: number;
  /** Children with no parent in Dynamics (an empty required lookup); not in `parked`. */
  orphans: number;
  /** When the oldest orphan was parked (ms); null without orphans. */
  orphansSince: number | null;
  synced: number;
  processed: OutcomeCounts | null;
  /**
   * Event flows (F6) only, else null: events read, staged and skipped by reason, the journal
   * position's age (now minus the newest staged event's time), last read and caught up, expiries.
   */
  journal: FlowJournalStatus | null;
  /**
   * Flows with a bulk lane (F7) only, else null: whether it holds the flow's bulk work, its files by
   * state with their rows, rows queued and imported, the import window and its next opening, the
   * next signal and the ETA (docs/bulk-loads.md).
   */
  bulkLane: FlowBulkLaneStatus | null;
}

/** One problem as the API shows it. */
export interface ProblemView {
  kind: HealthProblemKind;
  subject: string;
  severity: HealthSeverity;
  summary: string;
  detail: string;
  /** When the condition was first seen (ms); the read's time when assessed on the spot. */
  since: number;
}

export const overallStates = ['running', 'paused', 'partially-paused'] as const;
export type OverallState = (typeof overallStates)[number];

/** Everything `/api/status`, the dashboard and `/metrics` show, read at one moment. */
export interface StatusSnapshot {
  generatedAt: number;
  overall: {
    state: OverallState;
    /** False when something needs the operator (paused flow, dead letters, Campaign failing…). */
    healthy: boolean;
    /** Short reasons without personal data, e.g. `flow contacts paused` (the summaries of `details`). */
    problems: string[];
    /** Each problem: what, since when, how bad, what to do. */
    details: ProblemView[];
  };
  flows: FlowView[];
  totals: OutcomeCounts;
  backlog: { queued: number; leased: number; byLane: BacklogEntry[] };
  throughput: { recordsPerSecond: number; windowMs: number };
  /** Lag (staged → applied) of the records applied in the last `windowMs`; null when none was. */
  lag: { p50Ms: number; p99Ms: number; windowMs: number } | null;
  budget: CallBudgetUsage;
  /**
   * Changes that failed and wait for a retry, per flow and last error code, with how long the
   * oldest has been failing: throttling can keep a change here for up to `engine.retry.maxThrottledMs`.
   */
  retrying: { total: number; byCode: RetryingEntry[] };
  /** `total` is fresh; `byCode` is re-read when it no longer adds up to it, else at most every `deadLetterCodesCacheMs`. */
  deadLetters: { total: number; byCode: { flow: string; code: string; count: number }[] };
  parked: { total: number };
  /** Children with no parent in Dynamics, over every flow (docs/custom-tables.md). */
  orphans: { total: number };
  synced: number;
  providers: { optOut: boolean; privacy: boolean; dynamicsWebhook: boolean };
  optOut: {
    freshness: OptOutFreshnessView | null;
    sftpUsage: OptOutUsageView | null;
    /** Export files that need the operator (quarantined lines, failed, held too long, retried). */
    fileProblems: OptOutFileProblemView[] | null;
  } | null;
  /** Every worker on record (dead ones marked) and who holds each singleton duty. */
  workers: WorkersView;
}

const throughputWindowMs = 10_000;

function toFlowView(status: FlowStatus): FlowView {
  return {
    id: status.flow,
    table: status.table,
    state: status.control.status,
    reason: status.control.reason,
    since: status.control.since,
    breakerTripped: status.control.trippedRunId !== null,
    phase: status.phase,
    run: status.run,
    readPhase: status.cursor.phase,
    runRows: status.cursor.runRows,
    caughtUpAt: status.cursor.caughtUpAt,
    replay: status.replay
      ? { rows: status.replay.rows, total: status.replay.total, startedAt: status.replay.startedAt }
      : null,
    backlog: status.backlog,
    lagMs: status.lagMs,
    retrying: status.retrying.total,
    deadLetters: status.deadLetters,
    parked: status.parked,
    orphans: status.orphans,
    orphansSince: status.orphansSince,
    synced: status.synced,
    processed: status.processed,
    journal: status.journal ?? null,
    bulkLane: status.bulkLane ?? null,
  };
}

function overallOf(flows: readonly FlowView[]): OverallState {
  const paused = flows.filter((f) => f.state === 'paused').length;
  if (paused === 0) return 'running';
  return paused === flows.length ? 'paused' : 'partially-paused';
}

/**
 * Reads the status snapshot, reusing one answer for `cacheMs` and sharing an in-flight read, so a
 * dashboard polling every few seconds and a Prometheus scrape cost one set of store queries.
 */
export class StatusReader {
  private cached: { at: number; snapshot: StatusSnapshot } | null = null;
  private inFlight: Promise<StatusSnapshot> | null = null;
  private codes: { at: number; value: StatusSnapshot['deadLetters']['byCode'] } | null = null;

  /**
   * @param cacheMs how long one snapshot is reused
   * @param codeCountsCacheMs how long dead-letter counts per code are reused: grouping 100,000
   *   dead letters costs a full scan, the per-flow totals stay fresh.
   */
  constructor(
    private readonly deps: ServerDependencies,
    private readonly cacheMs: number,
    private readonly codeCountsCacheMs: number,
  ) {}

  /** Forget the cached answers (after an operator action changed state). */
  invalidate(): void {
    this.cached = null;
    this.codes = null;
  }

  async read(): Promise<StatusSnapshot> {
    const now = this.deps.clock.now();
    if (this.cached && now - this.cached.at < this.cacheMs) return this.cached.snapshot;
    this.inFlight ??= this.readFresh().finally(() => {
      this.inFlight = null;
    });
    const snapshot = await this.inFlight;
    this.cached = { at: now, snapshot };
    return snapshot;
  }

  private async readFresh(): Promise<StatusSnapshot> {
    const { engine, store, budget, clock } = this.deps;
    const [statuses, byLane, optOut, workers] = await Promise.all([
      engine.flowStatuses(),
      store.queue.backlog(),
      this.readOptOut(),
      readWorkers(store, clock.now(), this.deps.config.workers),
    ]);
    // The flow statuses already read what is retrying; the snapshot lists it across flows.
    const retrying: RetryingEntry[] = statuses.flatMap((s) =>
      s.retrying.byCode.map((entry) => ({ flow: s.flow, ...entry })),
    );
    const flows = statuses.map(toFlowView);
    const percentiles = engine.stats.lagPercentiles();
    const deadTotal = flows.reduce((n, f) => n + f.deadLetters, 0);
    const byCode = await this.readCodeCounts(deadTotal);
    const usage = budget.usage();
    const details = this.problems(statuses, usage, optOut);
    return {
      generatedAt: clock.now(),
      overall: {
        state: overallOf(flows),
        healthy: details.length === 0,
        problems: details.map((p) => p.summary),
        details,
      },
      flows,
      totals: engine.stats.totals(),
      backlog: {
        queued: flows.reduce((n, f) => n + f.backlog.queued, 0),
        leased: flows.reduce((n, f) => n + f.backlog.leased, 0),
        byLane,
      },
      throughput: {
        recordsPerSecond: engine.stats.throughput(throughputWindowMs),
        windowMs: throughputWindowMs,
      },
      lag: percentiles ? { p50Ms: percentiles.p50, p99Ms: percentiles.p99, windowMs: lagWindowMs } : null,
      budget: usage,
      retrying: { total: retrying.reduce((n, r) => n + r.count, 0), byCode: retrying },
      deadLetters: { total: deadTotal, byCode },
      parked: { total: flows.reduce((n, f) => n + f.parked, 0) },
      orphans: { total: flows.reduce((n, f) => n + f.orphans, 0) },
      synced: flows.reduce((n, f) => n + f.synced, 0),
      providers: {
        optOut: this.deps.optOut !== undefined,
        privacy: this.deps.privacy !== undefined,
        dynamicsWebhook: this.deps.dynamicsWebhook !== undefined,
      },
      optOut,
      workers,
    };
  }

  /**
   * The health monitor's problems when one runs (they carry its hysteresis); else the same model
   * assessed on this read.
   */
  private problems(
    statuses: readonly FlowStatus[],
    campaign: CallBudgetUsage,
    optOut: StatusSnapshot['optOut'],
  ): ProblemView[] {
    const { health, clock } = this.deps;
    if (health?.hasChecked) return health.problems();
    const now = clock.now();
    return assessHealth(
      {
        now,
        flows: statuses,
        campaign,
        backlogTrends: [],
        optOut: optOut
          ? { freshness: optOut.freshness, usage: optOut.sftpUsage, fileProblems: optOut.fileProblems }
          : null,
      },
      health?.assessmentSettings,
    ).map((condition) => ({ ...condition, since: now }));
  }

  /** Counts per code, reused while young and still adding up to the fresh total. */
  private async readCodeCounts(total: number): Promise<StatusSnapshot['deadLetters']['byCode']> {
    const now = this.deps.clock.now();
    const cached = this.codes;
    if (
      cached &&
      now - cached.at < this.codeCountsCacheMs &&
      cached.value.reduce((n, row) => n + row.count, 0) === total
    )
      return cached.value;
    const value = await this.deps.store.deadLetters.countByCode();
    this.codes = { at: now, value };
    return value;
  }

  /** Provider trouble must not take the whole status page down: the part reads as null. */
  private async readOptOut(): Promise<StatusSnapshot['optOut']> {
    const provider = this.deps.optOut;
    if (!provider) return null;
    const [freshness, sftpUsage, fileProblems] = await Promise.all([
      provider.freshness().catch((error: unknown) => this.warn(error, 'opt-out freshness')),
      provider.sftpUsage().catch((error: unknown) => this.warn(error, 'SFTP usage')),
      provider.fileProblems().catch((error: unknown) => this.warn(error, 'opt-out file problems')),
    ]);
    return { freshness, sftpUsage, fileProblems };
  }

  private warn(error: unknown, what: string): null {
    this.deps.logger.warn({ err: error }, `reading ${what} for the status failed`);
    return null;
  }
}

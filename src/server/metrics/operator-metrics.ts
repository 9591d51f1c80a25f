import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { OperatorEngine } from '../server-dependencies.js';
import type { StatusSnapshot } from '../status/status-reader.js';

type GaugeOf<L extends string> = Gauge<L>;

/**
 * The service's Prometheus metrics. Counters of applied records are fed by the engine's stats
 * listener; gauges are set from one status snapshot at scrape time. Labels hold flow ids, lanes,
 * outcomes, codes and targets only — bounded sets, never record keys or personal data.
 */
export class OperatorMetrics {
  private readonly backlog: GaugeOf<'flow' | 'lane' | 'state'>;
  private readonly lag: GaugeOf<'flow'>;
  private readonly deadLetters: GaugeOf<'flow' | 'code'>;
  private readonly retrying: GaugeOf<'flow' | 'code'>;
  private readonly retryingAge: GaugeOf<'flow' | 'code'>;
  private readonly parked: GaugeOf<'flow'>;
  private readonly orphans: GaugeOf<'flow'>;
  private readonly synced: GaugeOf<'flow'>;
  private readonly paused: GaugeOf<'flow'>;
  private readonly throughput: GaugeOf<never>;
  private readonly budget: GaugeOf<'measure'>;
  private readonly budgetWaiting: GaugeOf<'lane'>;
  /** Present only when opt-outs are tracked (a 0 would read as "fine"). */
  private readonly optOut: {
    lastFile: GaugeOf<never>;
    stale: GaugeOf<never>;
    sftpUsed: GaugeOf<never>;
    sftpQuota: GaugeOf<never>;
    sftpRatio: GaugeOf<never>;
  } | null;
  private readonly up: GaugeOf<never>;
  private readonly workersAlive: GaugeOf<never>;
  private readonly workerDuties: GaugeOf<'worker'>;
  private readonly workerLeased: GaugeOf<'worker'>;
  private readonly workerBudgetShare: GaugeOf<'worker'>;
  private readonly runProgress: GaugeOf<'flow' | 'kind'>;
  private readonly runEta: GaugeOf<'flow' | 'kind'>;
  private readonly problems: GaugeOf<'kind' | 'subject' | 'severity'>;
  /** Present only with flows read from an event journal (F6). */
  private readonly journal: JournalMetrics | null;

  constructor(
    readonly registry: Registry,
    engine: OperatorEngine,
    options: { optOut: boolean; journalFlows?: readonly string[] | undefined },
  ) {
    const registers = [registry];
    const journalFlows = new Set(options.journalFlows ?? []);
    this.journal = journalFlows.size > 0 ? new JournalMetrics(registers, journalFlows, engine) : null;
    const records = new Counter({
      name: 'dcsync_records_total',
      help: 'Work items handled by outcome (created, updated, dead-lettered, …) since start',
      labelNames: ['flow', 'outcome'],
      registers,
    });
    const recordLag = new Histogram({
      name: 'dcsync_record_lag_seconds',
      help: 'Time from staging a change to applying it',
      labelNames: ['flow'],
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    });
    engine.stats.onRecord((flow, outcome, _durationMs, lagMs) => {
      records.inc({ flow, outcome });
      if (lagMs !== undefined) recordLag.observe({ flow }, lagMs / 1000);
    });
    const runs = new Counter({
      name: 'dcsync_runs_total',
      help: 'Runs (initial load, replay, re-baseline) this process saw end, by flow, kind and outcome',
      labelNames: ['flow', 'kind', 'outcome'],
      registers,
    });
    engine.events?.on('run.ended', (run) =>
      runs.inc({ flow: run.flow, kind: run.kind, outcome: run.outcome }),
    );
    this.runProgress = new Gauge({
      name: 'dcsync_run_progress_ratio',
      help: "Share (0–1) of the active run's total written, per flow and run kind (absent while the total is unknown)",
      labelNames: ['flow', 'kind'],
      registers,
    });
    this.runEta = new Gauge({
      name: 'dcsync_run_eta_seconds',
      help: 'Time left of the active run at its measured rate (bounded by the call budget), per flow and run kind',
      labelNames: ['flow', 'kind'],
      registers,
    });
    this.backlog = new Gauge({
      name: 'dcsync_backlog_items',
      help: 'Work items in the inbox per flow, lane and state (queued or leased)',
      labelNames: ['flow', 'lane', 'state'],
      registers,
    });
    this.lag = new Gauge({
      name: 'dcsync_lag_seconds',
      help: 'Age of the oldest queued change per flow (0 when the inbox is empty)',
      labelNames: ['flow'],
      registers,
    });
    this.deadLetters = new Gauge({
      name: 'dcsync_dead_letters',
      help: 'Dead letters per flow and error code',
      labelNames: ['flow', 'code'],
      registers,
    });
    this.retrying = new Gauge({
      name: 'dcsync_retrying_items',
      help: 'Changes that failed and wait for a retry (not dead letters yet), per flow and last error code',
      labelNames: ['flow', 'code'],
      registers,
    });
    this.retryingAge = new Gauge({
      name: 'dcsync_retrying_oldest_seconds',
      help: 'How long the oldest retrying change per flow and last error code has been failing',
      labelNames: ['flow', 'code'],
      registers,
    });
    this.parked = new Gauge({
      name: 'dcsync_parked_records',
      help: 'Children parked until their parent lands, per flow',
      labelNames: ['flow'],
      registers,
    });
    this.orphans = new Gauge({
      name: 'dcsync_orphans',
      help: 'Children with no parent in Dynamics (empty required lookup), written once the lookup is set, per flow',
      labelNames: ['flow'],
      registers,
    });
    this.synced = new Gauge({
      name: 'dcsync_synced_records',
      help: 'Records in the key map (synced to Campaign) per flow',
      labelNames: ['flow'],
      registers,
    });
    this.paused = new Gauge({
      name: 'dcsync_flow_paused',
      help: '1 when the flow is paused (operator or mass-change breaker)',
      labelNames: ['flow'],
      registers,
    });
    this.throughput = new Gauge({
      name: 'dcsync_throughput_records_per_second',
      help: 'Records applied per second over the last 10 s',
      registers,
    });
    this.budget = new Gauge({
      name: 'dcsync_campaign_budget',
      help: 'Campaign call budget: calls_today, calls_per_day, engine_calls_today, engine_calls_per_day, rate_current, rate_limit, calls_last_second, rate_cuts (per_day measures absent when unlimited)',
      labelNames: ['measure'],
      registers,
    });
    this.budgetWaiting = new Gauge({
      name: 'dcsync_campaign_budget_waiting_calls',
      help: 'Calls waiting for the Campaign budget per lane',
      labelNames: ['lane'],
      registers,
    });
    this.optOut = options.optOut
      ? {
          lastFile: new Gauge({
            name: 'dcsync_optout_last_file_timestamp_seconds',
            help: 'Arrival time of the newest opt-out export file (0 when none arrived)',
            registers,
          }),
          stale: new Gauge({
            name: 'dcsync_optout_file_stale',
            help: '1 when no opt-out export file arrived within the staleness window',
            registers,
          }),
          sftpUsed: new Gauge({
            name: 'dcsync_sftp_used_bytes',
            help: 'Bytes used on the Campaign SFTP server',
            registers,
          }),
          sftpQuota: new Gauge({
            name: 'dcsync_sftp_quota_bytes',
            help: 'Licensed Campaign SFTP storage',
            registers,
          }),
          sftpRatio: new Gauge({
            name: 'dcsync_sftp_usage_ratio',
            help: 'Share of the SFTP quota in use (0–1)',
            registers,
          }),
        }
      : null;
    this.problems = new Gauge({
      name: 'dcsync_problems',
      help: '1 per current health problem (the status header and the alerts see the same), by kind, subject and severity',
      labelNames: ['kind', 'subject', 'severity'],
      registers,
    });
    this.up = new Gauge({
      name: 'dcsync_status_up',
      help: '1 when the last status read succeeded',
      registers,
    });
    this.workersAlive = new Gauge({
      name: 'dcsync_workers_alive',
      help: 'dcsync run processes (workers) whose heartbeat is fresh, across the deployment',
      registers,
    });
    this.workerDuties = new Gauge({
      name: 'dcsync_worker_duties',
      help: 'Singleton duties (pollers, opt-out ingest, privacy runner, alert monitor) each live worker holds',
      labelNames: ['worker'],
      registers,
    });
    this.workerLeased = new Gauge({
      name: 'dcsync_worker_items_leased',
      help: 'Work items each live worker holds leased',
      labelNames: ['worker'],
      registers,
    });
    this.workerBudgetShare = new Gauge({
      name: 'dcsync_worker_budget_calls_per_second',
      help: "Each live worker's slice of the shared Campaign call budget: its share of the calls per second",
      labelNames: ['worker'],
      registers,
    });
  }

  /** Set every gauge from a snapshot (label sets that vanished are dropped). */
  update(snapshot: StatusSnapshot): void {
    for (const gauge of [
      this.backlog,
      this.lag,
      this.deadLetters,
      this.retrying,
      this.retryingAge,
      this.parked,
      this.orphans,
      this.synced,
      this.paused,
      this.problems,
      this.runProgress,
      this.runEta,
    ])
      gauge.reset();
    for (const problem of snapshot.overall.details)
      this.problems.set({ kind: problem.kind, subject: problem.subject, severity: problem.severity }, 1);
    for (const flow of snapshot.flows) {
      this.lag.set({ flow: flow.id }, (flow.lagMs ?? 0) / 1000);
      this.parked.set({ flow: flow.id }, flow.parked);
      this.orphans.set({ flow: flow.id }, flow.orphans);
      this.synced.set({ flow: flow.id }, flow.synced);
      this.paused.set({ flow: flow.id }, flow.state === 'paused' ? 1 : 0);
      const run = flow.run;
      if (run) {
        const labels = { flow: flow.id, kind: run.kind };
        if (run.progress.percent !== null) this.runProgress.set(labels, run.progress.percent / 100);
        if (run.progress.etaMs !== null) this.runEta.set(labels, run.progress.etaMs / 1000);
      }
    }
    for (const entry of snapshot.backlog.byLane) {
      this.backlog.set({ flow: entry.flow, lane: entry.lane, state: 'queued' }, entry.queued);
      this.backlog.set({ flow: entry.flow, lane: entry.lane, state: 'leased' }, entry.leased);
    }
    for (const row of snapshot.deadLetters.byCode)
      this.deadLetters.set({ flow: row.flow, code: row.code }, row.count);
    for (const row of snapshot.retrying.byCode) {
      this.retrying.set({ flow: row.flow, code: row.code }, row.count);
      const age = row.oldestFailedAt === null ? 0 : Math.max(0, snapshot.generatedAt - row.oldestFailedAt);
      this.retryingAge.set({ flow: row.flow, code: row.code }, age / 1000);
    }
    this.throughput.set(snapshot.throughput.recordsPerSecond);
    const b = snapshot.budget;
    this.budget.reset();
    this.budget.set({ measure: 'calls_today' }, b.callsToday);
    this.budget.set({ measure: 'engine_calls_today' }, b.engineCallsToday);
    if (b.callsPerDay !== null) this.budget.set({ measure: 'calls_per_day' }, b.callsPerDay);
    if (b.engineCallsPerDay !== null)
      this.budget.set({ measure: 'engine_calls_per_day' }, b.engineCallsPerDay);
    this.budget.set({ measure: 'rate_current' }, b.currentCallsPerSecond);
    this.budget.set({ measure: 'rate_limit' }, b.callsPerSecondLimit);
    this.budget.set({ measure: 'calls_last_second' }, b.callsInLastSecond);
    this.budget.set({ measure: 'rate_cuts' }, b.rateCuts);
    for (const [lane, waiting] of Object.entries(b.waiting)) this.budgetWaiting.set({ lane }, waiting);
    this.updateOptOut(snapshot.optOut);
    this.journal?.update(snapshot);
    this.workersAlive.set(snapshot.workers.alive);
    this.workerDuties.reset();
    this.workerLeased.reset();
    this.workerBudgetShare.reset();
    for (const w of snapshot.workers.workers.filter((x) => x.alive)) {
      this.workerDuties.set({ worker: w.id }, w.duties.length);
      this.workerLeased.set({ worker: w.id }, w.itemsLeased);
      const share = sliceShare(w.budget);
      if (share !== null) this.workerBudgetShare.set({ worker: w.id }, share);
    }
    this.up.set(1);
  }

  /** The status could not be read: say so instead of serving stale gauges as fresh. */
  markDown(): void {
    this.up.set(0);
  }

  private updateOptOut(optOut: StatusSnapshot['optOut']): void {
    const gauges = this.optOut;
    if (!gauges) return;
    const freshness = optOut?.freshness;
    if (freshness) {
      gauges.lastFile.set(freshness.lastFileAt === null ? 0 : freshness.lastFileAt / 1000);
      gauges.stale.set(freshness.stale ? 1 : 0);
    }
    const usage = optOut?.sftpUsage;
    if (usage) {
      gauges.sftpUsed.set(usage.usedBytes);
      if (usage.quotaBytes !== null) {
        gauges.sftpQuota.set(usage.quotaBytes);
        gauges.sftpRatio.set(usage.usedBytes / usage.quotaBytes);
      }
    }
  }
}

/** What an applied event of a journal flow counts as when it is not written: the skip reason. */
const appliedSkipReasons: Partial<Record<string, string>> = {
  unchanged: 'already-written',
  'skipped-foreign': 'foreign',
  tombstoned: 'tombstoned',
  absent: 'absent',
  filtered: 'type-disabled',
};

/**
 * Metrics of the flows read from an event journal (F6): what the journal read, staged, skipped and
 * lost (durable counts of its checkpoint, mirrored into counters: a process starts from what the
 * store holds), what this process wrote or skipped applying, the event-time lag and the journal
 * position's age.
 */
class JournalMetrics {
  private readonly positionAge: Gauge<'flow'>;
  private readonly read: Counter<'flow'>;
  private readonly staged: Counter<'flow'>;
  private readonly written: Counter<'flow'>;
  private readonly skipped: Counter<'flow' | 'reason'>;
  private readonly expiries: Counter<'flow'>;
  /** Last durable value mirrored per series. */
  private readonly mirrored = new Map<string, number>();

  constructor(registers: Registry[], flows: ReadonlySet<string>, engine: OperatorEngine) {
    this.positionAge = new Gauge({
      name: 'dcsync_journal_position_age_seconds',
      help: 'Age of the journal position of an event flow: now minus the time of the newest event staged (absent before the first)',
      labelNames: ['flow'],
      registers,
    });
    this.read = new Counter({
      name: 'dcsync_journal_events_read_total',
      help: 'Events read from the journal of an event flow (durable: from the journal checkpoint)',
      labelNames: ['flow'],
      registers,
    });
    this.staged = new Counter({
      name: 'dcsync_journal_events_staged_total',
      help: 'Events staged as work items from the journal (durable: from the journal checkpoint)',
      labelNames: ['flow'],
      registers,
    });
    this.written = new Counter({
      name: 'dcsync_journal_events_written_total',
      help: 'Events written to the target as activities by this process since it started',
      labelNames: ['flow'],
      registers,
    });
    this.skipped = new Counter({
      name: 'dcsync_journal_events_skipped_total',
      help: 'Events not written, by reason: read and not staged (type-send-disabled, soft-bounce, unreadable; durable), or applied without a write by this process (foreign, tombstoned, absent, already-written, type-disabled)',
      labelNames: ['flow', 'reason'],
      registers,
    });
    this.expiries = new Counter({
      name: 'dcsync_journal_expiries_total',
      help: 'Times the journal position expired (events lost, an alert raised each time; durable)',
      labelNames: ['flow'],
      registers,
    });
    const lag = new Histogram({
      name: 'dcsync_journal_event_lag_seconds',
      help: 'Time from an event at the source (its own time) to its activity written in the target',
      labelNames: ['flow'],
      buckets: [1, 5, 15, 30, 60, 300, 900, 3600, 14_400, 86_400, 604_800],
      registers,
    });
    engine.events?.on('event.landed', (e) => lag.observe({ flow: e.flow }, e.eventLagMs / 1000));
    engine.stats.onRecord((flow, outcome) => {
      if (!flows.has(flow)) return;
      if (outcome === 'created') this.written.inc({ flow });
      const reason = appliedSkipReasons[outcome];
      if (reason !== undefined) this.skipped.inc({ flow, reason });
    });
  }

  update(snapshot: StatusSnapshot): void {
    this.positionAge.reset();
    for (const flow of snapshot.flows) {
      const journal = flow.journal;
      if (!journal) continue;
      if (journal.positionAgeMs !== null)
        this.positionAge.set({ flow: flow.id }, journal.positionAgeMs / 1000);
      this.mirror('read', this.read, { flow: flow.id }, journal.read);
      this.mirror('staged', this.staged, { flow: flow.id }, journal.staged);
      this.mirror('expiries', this.expiries, { flow: flow.id }, journal.expiries);
      for (const [reason, n] of Object.entries(journal.skipped))
        this.mirror('skipped', this.skipped, { flow: flow.id, reason }, n);
    }
  }

  /** Add to a counter what a durable count grew by since it was last seen (a reset starts again). */
  private mirror<L extends string>(
    name: string,
    counter: Counter<L>,
    labels: Record<L, string>,
    value: number,
  ): void {
    const key = `${name}${JSON.stringify(labels)}`;
    const last = this.mirrored.get(key);
    // The first sighting shows the series even at 0 (an absent counter reads as "not measured").
    if (last === undefined || value > last)
      counter.inc(labels as Partial<Record<L, string>>, value - (last ?? 0));
    this.mirrored.set(key, value);
  }
}

/** The calls per second of a worker's budget slice, from its registry row (null: none reported). */
function sliceShare(budget: unknown): number | null {
  const campaign = objectField(budget, 'campaignBudget');
  const slice = objectField(campaign, 'slice');
  const share = slice?.callsPerSecond;
  return typeof share === 'number' ? share : null;
}

function objectField(value: unknown, key: string): Record<string, unknown> | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const field = (value as Record<string, unknown>)[key];
  return field && typeof field === 'object' && !Array.isArray(field)
    ? (field as Record<string, unknown>)
    : null;
}

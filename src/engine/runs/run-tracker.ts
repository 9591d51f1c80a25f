import { addRunCounts, emptyRunCounts } from '../../core/run-counts.js';
import type { Clock } from '../../core/clock.js';
import type { CallBudgetUsage } from '../../core/ports/call-budget.js';
import type { EngineLogger } from '../../core/ports/engine-logger.js';
import type {
  RunCounts,
  RunKind,
  RunPhase,
  RunRecord,
  RunTotalSource,
  RunTrigger,
  StateStore,
} from '../../core/ports/state-store.js';
import { readCheckpoint } from '../checkpoints.js';
import type { EngineEvents, ReadProgress } from '../engine-events.js';
import type { ApplyOutcome } from '../engine-stats.js';
import { cursorCheckpoint, replayCheckpoint } from '../feed-cursor.js';
import type { FlowControl } from '../flow-control.js';
import { runDone, toRunView, type RunView } from './run-view.js';

/** The runs a flow's change feed makes: its first full read, replays, re-baselines. */
type FeedRunKind = ReadProgress['kind'];
const feedRunKinds: readonly RunKind[] = ['initial', 'replay', 'rebaseline'];

const triggerOf: Record<FeedRunKind, RunTrigger> = {
  initial: 'first-start',
  replay: 'operator',
  rebaseline: 'cursor-expired',
};

const dayMs = 86_400_000;
const pauseEvents: ReadonlySet<string> = new Set(['paused', 'breaker-tripped', 'resumed']);

export interface RunTrackerOptions {
  store: StateStore;
  clock: Clock;
  logger: EngineLogger;
  events: EngineEvents;
  control: Pick<FlowControl, 'get'>;
  /** Flows read from a change feed: their initial loads, replays and re-baselines are runs. */
  flows: readonly string[];
  /** The Campaign call budget: calls made during a run, and the rate that bounds its ETA. */
  callBudget?: { usage(): CallBudgetUsage } | undefined;
  /** Counts are written to the store this often (never per item), and progress announced. @default 1000 */
  flushIntervalMs?: number;
  /** The rate is measured over this window. @default 30000 */
  rateWindowMs?: number;
  /** Ended runs are kept this long. @default 90 */
  retentionDays?: number;
  /** How often old runs are pruned. @default 3600000 */
  pruneIntervalMs?: number;
}

function sumCounts(a: RunCounts, b: RunCounts): RunCounts {
  return addRunCounts(a, b);
}

function isEmpty(counts: RunCounts): boolean {
  return runDone(counts) === 0 && counts.read === 0 && counts.campaignCalls === 0;
}

/** One run followed by this process. */
interface TrackedRun {
  flow: string;
  kind: FeedRunKind;
  trigger: RunTrigger;
  /** Null until the run's row is stored. */
  id: string | null;
  creating: Promise<void> | null;
  startedAt: number;
  /** Counts in the store (as far as this process wrote them), and counted since. */
  stored: RunCounts;
  pending: RunCounts;
  /** Rows read as the poller last reported them (durable in its cursor). */
  readRows: number;
  phase: RunPhase;
  total: number | null;
  totalSource: RunTotalSource | null;
  /** Phase or total changed since the last write. */
  dirty: boolean;
  /** The bulk lane was found drained at the last check (a run ends on two checks in a row). */
  drainedOnce: boolean;
  /** (time, done) samples for the rate, oldest first. */
  samples: { at: number; done: number }[];
  control: { status: string; reason: string | null } | null;
}

/** Why a row read counts as settled without a work item of its own (skipped reasons of a run). */
type AbsorbedReason = 'stale' | 'merged-with-queued' | 'dropped';

function absorbedAs(outcome: string): AbsorbedReason | 'parked' {
  switch (outcome) {
    case 'folded-into-parked':
      return 'parked';
    case 'coalesced':
      return 'merged-with-queued';
    case 'stale':
      return 'stale';
    default:
      return 'dropped';
  }
}

/**
 * Follows the runs of the flows read from a change feed — initial load, replay, re-baseline — from
 * the engine's event bus and keeps them in the store's run history.
 *
 * A run starts with its read, counts what its items did when they are WRITTEN (the bulk lane of its
 * flow: applied by outcome, skipped by reason, parked, dead-lettered), and ends only when its read
 * is complete AND nothing of its flow's bulk lane is queued, leased or waiting for a retry — when
 * its last record is written. Counts are added to the store once a second (and at the end), never
 * per item. A process that starts finds the runs still running in the store and continues them
 * (same id), reading the flow's cursor and replay checkpoints to know whether their read is done.
 * Pauses, resumes and mass-change breaker trips of the flow become events of its run.
 */
export class RunTracker {
  private readonly runs: TrackedRun[] = [];
  private readonly unsubscribe: (() => void)[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> = Promise.resolve();
  private budgetRate: number | null = null;
  private lastCalls: number | null = null;
  private started = false;
  private readonly flows: ReadonlySet<string>;
  private readonly flushIntervalMs: number;
  private readonly rateWindowMs: number;

  constructor(private readonly options: RunTrackerOptions) {
    this.flows = new Set(options.flows);
    this.flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.rateWindowMs = options.rateWindowMs ?? 30_000;
  }

  /** Subscribe to the event bus and continue the runs the store says are running. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { events } = this.options;
    this.unsubscribe.push(
      events.on('read.started', (p) => this.onRead(p)),
      events.on('read.progressed', (p) => this.onRead(p)),
      events.on('read.ended', (p) => this.onRead(p)),
      events.on('item.applied', (e) => {
        if (e.lane === 'bulk') this.count(e.flow, e.outcome);
      }),
      events.on('item.parked', (e) => {
        if (e.lane === 'bulk') this.count(e.flow, 'parked');
      }),
      events.on('item.failed', (e) => {
        if (e.lane === 'bulk' && e.deadLettered) this.count(e.flow, 'dead-lettered');
      }),
      // Rows read that became no work item of the run's own are settled at once: without this a
      // replay's row merged into a live item being retried never counted, and done stayed below total.
      events.on('item.absorbed', (e) => {
        if (e.lane !== 'bulk') return;
        for (const [outcome, n] of Object.entries(e.outcomes))
          for (let i = 0; i < n; i++) this.count(e.flow, absorbedAs(outcome));
      }),
      events.on('budget.changed', (e) => {
        if (e.target === 'campaign') this.budgetRate = e.callsPerSecond;
      }),
    );
    this.lastCalls = this.options.callBudget?.usage().callsToday ?? null;
    await this.resumeStoredRuns();
    this.flushTimer = setInterval(() => void this.tick(false), this.flushIntervalMs);
    this.flushTimer.unref();
    await this.prune();
    this.pruneTimer = setInterval(() => void this.prune(), this.options.pruneIntervalMs ?? 3_600_000);
    this.pruneTimer.unref();
  }

  /** Write what is counted; end the runs whose last record is written. Call after the runner stopped. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.flushTimer = this.pruneTimer = null;
    for (const off of this.unsubscribe.splice(0)) off();
    await Promise.all(this.runs.flatMap((r) => (r.creating ? [r.creating] : [])));
    // The runner has stopped: every write it made is counted, so a drained lane is final.
    await this.tick(true);
    // What still runs is in the store; a start again (or another process) continues it from there.
    this.runs.splice(0);
  }

  /**
   * Write the counts now and end the runs whose last record is written (after a check that found
   * their lane drained already, or at once with `final`). The timer calls it once a second.
   */
  flush(final = false): Promise<void> {
    return this.tick(final);
  }

  /** The runs this process follows, as shown now (live rate and ETA). */
  views(): RunView[] {
    const now = this.options.clock.now();
    return this.runs.filter((r) => r.id !== null).map((r) => this.viewOf(r, now));
  }

  /** One followed run as shown now, or null when this process does not follow it. */
  view(id: string): RunView | null {
    const run = this.runs.find((r) => r.id === id);
    return run ? this.viewOf(run, this.options.clock.now()) : null;
  }

  private async resumeStoredRuns(): Promise<void> {
    const { store } = this.options;
    for (const record of await store.runs.active()) {
      if (!this.isFeedRun(record)) continue;
      if (this.find(record.flow, record.kind as FeedRunKind)) {
        // Two running runs of one flow and kind: the older one lost its process before its first page.
        await store.runs.end(record.id, 'interrupted');
        continue;
      }
      const run = this.trackedFrom(record);
      // Paused when its last process saw it: a resume made meanwhile (e.g. from the CLI) shows up.
      const last = (await store.runs.get(record.id))?.events
        .filter((e) => pauseEvents.has(e.kind))
        .at(-1)?.kind;
      if (last === 'paused' || last === 'breaker-tripped') run.control = { status: 'paused', reason: null };
      if (run.phase === 'reading' && !(await this.stillReading(run))) {
        // The read finished after the last write of the process that ran it.
        run.phase = 'writing';
        run.dirty = true;
      }
      this.runs.push(run);
      await store.runs.addEvent(record.id, {
        kind: 'continued',
        detail: `a starting process continues the run (${run.phase})`,
      });
    }
  }

  private isFeedRun(record: RunRecord): boolean {
    return this.flows.has(record.flow) && feedRunKinds.includes(record.kind);
  }

  private trackedFrom(record: RunRecord): TrackedRun {
    return {
      flow: record.flow,
      kind: record.kind as FeedRunKind,
      trigger: record.trigger,
      id: record.id,
      creating: null,
      startedAt: record.startedAt,
      stored: record.counts,
      pending: emptyRunCounts(),
      readRows: record.counts.read,
      phase: record.phase,
      total: record.total,
      totalSource: record.totalSource,
      dirty: false,
      drainedOnce: false,
      samples: [{ at: this.options.clock.now(), done: runDone(record.counts) }],
      control: null,
    };
  }

  /**
   * Several processes: follow the runs another process started (a worker process counts what it
   * writes for them), take their phase when their read completed there, and let go of the runs
   * another process ended (after adding what this one counted).
   */
  private async followOthers(): Promise<void> {
    const { store, clock, events } = this.options;
    const active = (await store.runs.active()).filter((r) => this.isFeedRun(r));
    for (const record of active) {
      const mine = this.runs.find((r) => r.id === record.id);
      if (mine) {
        if (mine.phase === 'reading' && record.phase === 'writing') mine.phase = 'writing';
      } else if (!this.find(record.flow, record.kind as FeedRunKind)) {
        this.runs.push(this.trackedFrom(record));
      }
    }
    for (const run of [...this.runs]) {
      if (run.id === null || active.some((r) => r.id === run.id)) continue;
      const delta = this.pendingDelta(run);
      run.pending = emptyRunCounts();
      if (!isEmpty(delta)) await store.runs.update(run.id, { addCounts: delta });
      this.runs.splice(this.runs.indexOf(run), 1);
      const record = await store.runs.get(run.id);
      if (record) events.emit('run.ended', toRunView(record, clock.now()));
    }
  }

  private async stillReading(run: TrackedRun): Promise<boolean> {
    const { store, clock } = this.options;
    if (run.kind === 'replay')
      return (await readCheckpoint(store.checkpoints, replayCheckpoint, run.flow, clock.now())) !== null;
    const cursor = await readCheckpoint(store.checkpoints, cursorCheckpoint, run.flow, clock.now());
    return run.kind === 'initial' ? cursor.phase === 'initial' : cursor.phase.startsWith('rebaseline');
  }

  private find(flow: string, kind: FeedRunKind): TrackedRun | undefined {
    return this.runs.find((r) => r.flow === flow && r.kind === kind);
  }

  private onRead(progress: ReadProgress): void {
    if (!this.flows.has(progress.flow)) return;
    const run = this.find(progress.flow, progress.kind) ?? this.begin(progress);
    run.readRows = Math.max(run.readRows, progress.rows);
    if (progress.done) {
      if (run.phase === 'reading') {
        run.phase = 'writing';
        void this.addEvent(run, 'read-complete', `${progress.rows} read`);
      }
      run.total = progress.rows;
      run.totalSource = 'read';
    } else if (run.phase === 'reading') {
      run.total = progress.total === null ? progress.rows : Math.max(progress.total, progress.rows);
      run.totalSource = progress.total === null ? 'read' : 'count';
    }
    run.dirty = true;
  }

  private begin(progress: ReadProgress): TrackedRun {
    const run: TrackedRun = {
      flow: progress.flow,
      kind: progress.kind,
      trigger: triggerOf[progress.kind],
      id: null,
      creating: null,
      startedAt: progress.startedAt,
      stored: emptyRunCounts(),
      pending: emptyRunCounts(),
      readRows: 0,
      phase: 'reading',
      total: progress.total,
      totalSource: progress.total === null ? null : 'count',
      dirty: true,
      drainedOnce: false,
      samples: [{ at: this.options.clock.now(), done: 0 }],
      control: null,
    };
    const control = this.options.control.get(run.flow);
    run.control = { status: control.status, reason: control.reason };
    this.runs.push(run);
    run.creating = this.options.store.runs
      .start({
        flow: run.flow,
        kind: run.kind,
        trigger: run.trigger,
        startedAt: run.startedAt,
        total: run.total,
        totalSource: run.totalSource,
      })
      .then((record) => {
        run.id = record.id;
        this.options.events.emit('run.started', this.viewOf(run, this.options.clock.now()));
      })
      .catch((error: unknown) => {
        this.options.logger.warn({ err: error, flow: run.flow }, 'recording a run start failed');
        this.runs.splice(this.runs.indexOf(run), 1);
      })
      .finally(() => {
        run.creating = null;
      });
    return run;
  }

  /** Count one settled item of a flow's bulk lane for its run (the oldest, should two overlap). */
  private count(flow: string, outcome: ApplyOutcome | 'parked' | 'dead-lettered' | AbsorbedReason): void {
    let run: TrackedRun | undefined;
    for (const r of this.runs) if (r.flow === flow && (!run || r.startedAt < run.startedAt)) run = r;
    if (!run) return;
    const counts = run.pending;
    switch (outcome) {
      case 'created':
      case 'updated':
      case 'adopted':
      case 'deleted':
      case 'unchanged':
      case 'parked':
        counts[outcome]++;
        break;
      case 'dead-lettered':
        counts.deadLettered++;
        break;
      default:
        counts.skipped[outcome] = (counts.skipped[outcome] ?? 0) + 1;
    }
  }

  private async addEvent(run: TrackedRun, kind: string, detail: string | null): Promise<void> {
    await run.creating;
    if (run.id === null) return;
    await this.options.store.runs
      .addEvent(run.id, { kind, detail })
      .catch((error: unknown) =>
        this.options.logger.warn({ err: error, run: run.id }, 'recording a run event failed'),
      );
  }

  private counts(run: TrackedRun): RunCounts {
    const counts = sumCounts(run.stored, run.pending);
    counts.read = Math.max(counts.read, run.readRows);
    return counts;
  }

  private viewOf(run: TrackedRun, now: number): RunView {
    const record: RunRecord = {
      id: run.id ?? '',
      flow: run.flow,
      kind: run.kind,
      trigger: run.trigger,
      subject: null,
      startedAt: run.startedAt,
      endedAt: null,
      outcome: 'running',
      phase: run.phase,
      total: run.total,
      totalSource: run.totalSource,
      counts: this.counts(run),
      updatedAt: now,
    };
    return toRunView(record, now, {
      ratePerSecond: this.rateOf(run),
      budgetCallsPerSecond: this.budgetRate ?? this.options.callBudget?.usage().currentCallsPerSecond ?? null,
    });
  }

  /** Items settled per second over the window; null until the samples span a second. */
  private rateOf(run: TrackedRun): number | null {
    const first = run.samples[0];
    const last = run.samples[run.samples.length - 1];
    if (!first || !last || last.at - first.at < 1000) return null;
    return ((last.done - first.done) * 1000) / (last.at - first.at);
  }

  private sample(run: TrackedRun, now: number): void {
    run.samples.push({ at: now, done: runDone(this.counts(run)) });
    const from = now - this.rateWindowMs;
    while (run.samples.length > 2 && run.samples[1]!.at <= from) run.samples.shift();
  }

  /** One pass at a time: a slow store never stacks ticks. */
  private tick(final: boolean): Promise<void> {
    this.ticking = this.ticking.then(() =>
      this.flushAll(final).catch((error: unknown) =>
        this.options.logger.warn({ err: error }, 'recording run progress failed; will retry'),
      ),
    );
    return this.ticking;
  }

  private async flushAll(final: boolean): Promise<void> {
    const { store, clock, events } = this.options;
    await Promise.all(this.runs.flatMap((r) => (r.creating ? [r.creating] : [])));
    await this.followOthers();
    const calls = this.callsSinceLastTick();
    for (const run of [...this.runs]) {
      if (run.id === null) continue;
      const now = clock.now();
      run.pending.campaignCalls += calls;
      this.noteControl(run);
      if (run.phase === 'writing') {
        // Whether any is left, not how many: cheap whatever the inbox holds.
        const left = await store.queue.countPending({
          flow: run.flow,
          lane: 'bulk',
          includeLeased: true,
          atMost: 1,
        });
        if (left === 0 && (run.drainedOnce || final)) {
          await this.end(run);
          continue;
        }
        run.drainedOnce = left === 0;
      }
      await this.write(run);
      this.sample(run, now);
      events.emit('run.progressed', this.viewOf(run, now));
    }
  }

  private callsSinceLastTick(): number {
    const now = this.options.callBudget?.usage().callsToday;
    if (now === undefined) return 0;
    const last = this.lastCalls;
    this.lastCalls = now;
    if (last === null) return 0;
    // A new day starts the budget's count again.
    return now >= last ? now - last : now;
  }

  private pendingDelta(run: TrackedRun): RunCounts {
    const delta = { ...run.pending, skipped: { ...run.pending.skipped } };
    delta.read = Math.max(0, run.readRows - run.stored.read);
    return delta;
  }

  private async write(run: TrackedRun): Promise<void> {
    const delta = this.pendingDelta(run);
    if (!run.dirty && isEmpty(delta)) return;
    run.pending = emptyRunCounts();
    run.dirty = false;
    try {
      await this.options.store.runs.update(run.id!, {
        addCounts: delta,
        phase: run.phase,
        total: run.total,
        totalSource: run.totalSource,
      });
      run.stored = addRunCounts(run.stored, delta);
    } catch (error) {
      // Counted again next tick.
      run.pending = addRunCounts(run.pending, { ...delta, read: 0 });
      run.dirty = true;
      throw error;
    }
  }

  private async end(run: TrackedRun): Promise<void> {
    const { store, clock, events } = this.options;
    const delta = this.pendingDelta(run);
    run.pending = emptyRunCounts();
    try {
      const ended = await store.runs.end(run.id!, 'succeeded', {
        addCounts: delta,
        total: run.total,
        totalSource: run.totalSource,
      });
      // Ended by another process already: our late counts still add up.
      if (!ended) await store.runs.update(run.id!, { addCounts: delta });
    } catch (error) {
      run.pending = addRunCounts(run.pending, { ...delta, read: 0 });
      throw error;
    }
    this.runs.splice(this.runs.indexOf(run), 1);
    const record = await store.runs.get(run.id!);
    if (!record) return;
    this.options.logger.info(
      { flow: run.flow, kind: run.kind, run: run.id, done: runDone(record.counts) },
      'run ended: its last record is written',
    );
    events.emit('run.ended', toRunView(record, clock.now()));
  }

  /** Pauses, resumes and breaker trips of the run's flow become events of the run. */
  private noteControl(run: TrackedRun): void {
    const state = this.options.control.get(run.flow);
    const previous = run.control;
    run.control = { status: state.status, reason: state.reason };
    if (previous === null || previous.status === state.status) return;
    if (state.status === 'paused') {
      const breaker = state.trippedRunId !== null;
      void this.addEvent(run, breaker ? 'breaker-tripped' : 'paused', state.reason);
    } else {
      void this.addEvent(run, 'resumed', null);
    }
  }

  private async prune(): Promise<void> {
    const days = this.options.retentionDays ?? 90;
    try {
      const removed = await this.options.store.runs.prune(this.options.clock.now() - days * dayMs);
      if (removed > 0) this.options.logger.info({ removed, days }, 'pruned old runs');
    } catch (error) {
      this.options.logger.warn({ err: error }, 'pruning old runs failed');
    }
  }
}

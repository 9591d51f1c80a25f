import type {
  RunCounts,
  RunEvent,
  RunKind,
  RunOutcome,
  RunPhase,
  RunRecord,
  RunTotalSource,
  RunTrigger,
} from '../../core/ports/state-store.js';

/**
 * A run's progress, from what was WRITTEN: `done` counts the items the run settled (applied,
 * skipped, parked or dead-lettered), `total` what it will write when known.
 */
export interface RunProgress {
  /** Items to write: the source's count while reading (`count`), else the rows read so far (`read`). */
  total: number | null;
  totalSource: RunTotalSource | null;
  done: number;
  /** 0–100; null while no total is known; 100 once the run succeeded. */
  percent: number | null;
  /** Items settled per second over the last half minute (the whole run once it ended). */
  ratePerSecond: number | null;
  /** Time left at the measured rate, never less than the call budget's current rate allows; null when unknown or ended. */
  etaMs: number | null;
}

/** A run as the API, the CLI and the dashboard show it. Times are ms since the epoch. */
export interface RunView {
  id: string;
  flow: string;
  kind: RunKind;
  trigger: RunTrigger;
  /** What the run is about when not a whole flow (an export file name, a privacy request id). */
  subject: string | null;
  startedAt: number;
  endedAt: number | null;
  outcome: RunOutcome;
  /** `reading` (the source), `writing` (the read is complete, records still being written), `ended`. */
  phase: RunPhase;
  counts: RunCounts;
  progress: RunProgress;
  /** Only for a single run (`GET /api/runs/:id`), oldest first. */
  events?: RunEvent[];
}

/** What a flow is doing, as an operator names it. */
export const flowPhases = ['initial load', 'replay', 're-baseline', 'live'] as const;
export type FlowPhase = (typeof flowPhases)[number];

const phaseOfKind: Partial<Record<RunKind, FlowPhase>> = {
  initial: 'initial load',
  rebaseline: 're-baseline',
  replay: 'replay',
};

/** The phase of a flow from its active runs: the first active load, else `live`. */
export function flowPhaseOf(activeRuns: readonly Pick<RunRecord, 'kind' | 'outcome'>[]): FlowPhase {
  for (const kind of ['initial', 'rebaseline', 'replay'] as const)
    if (activeRuns.some((r) => r.kind === kind && r.outcome === 'running')) return phaseOfKind[kind]!;
  return 'live';
}

/** Items a run has settled: written (created, updated, adopted, deleted, unchanged), skipped, parked, dead-lettered. */
export function runDone(counts: RunCounts): number {
  const skipped = Object.values(counts.skipped).reduce((n, v) => n + v, 0);
  return (
    counts.created +
    counts.updated +
    counts.adopted +
    counts.deleted +
    counts.unchanged +
    skipped +
    counts.parked +
    counts.deadLettered
  );
}

/** What only the process running the run knows. */
export interface LiveRunFigures {
  /** Measured over the tracker's sliding window. */
  ratePerSecond: number | null;
  /** The call budget's rate now in force (one call at least per item), when known. */
  budgetCallsPerSecond?: number | null | undefined;
}

/** Time left for `remaining` items at `rate`, never faster than the call budget allows. */
export function estimateEtaMs(
  remaining: number,
  ratePerSecond: number | null,
  budgetCallsPerSecond: number | null | undefined,
): number | null {
  if (remaining <= 0) return 0;
  if (ratePerSecond === null || !(ratePerSecond > 0)) return null;
  const rate =
    budgetCallsPerSecond !== null && budgetCallsPerSecond !== undefined && budgetCallsPerSecond > 0
      ? Math.min(ratePerSecond, budgetCallsPerSecond)
      : ratePerSecond;
  return Math.round((remaining / rate) * 1000);
}

/**
 * A stored run as it is shown at `now`. Without live figures (another process runs it, or it
 * ended) the rate is the run's average so far.
 */
export function toRunView(run: RunRecord, now: number, live?: LiveRunFigures): RunView {
  const done = runDone(run.counts);
  const ended = run.endedAt !== null;
  const total = run.total;
  const elapsedMs = Math.max(0, (run.endedAt ?? (live ? now : run.updatedAt)) - run.startedAt);
  const average = elapsedMs >= 1000 ? (done * 1000) / elapsedMs : null;
  const ratePerSecond = ended || live === undefined ? average : (live.ratePerSecond ?? average);
  // While the read goes on without a count, the total is only what was read so far: a floor, so
  // neither a share nor a time left can be told.
  const totalIsFloor = run.phase === 'reading' && run.totalSource !== 'count';
  let percent: number | null =
    total === null || total === 0 || totalIsFloor ? null : Math.min(100, (100 * done) / total);
  if (run.outcome === 'succeeded') percent = 100;
  else if (total === 0 && run.phase !== 'reading') percent = 100;
  const etaMs =
    ended || total === null || totalIsFloor
      ? null
      : estimateEtaMs(Math.max(0, total - done), ratePerSecond, live?.budgetCallsPerSecond);
  return {
    id: run.id,
    flow: run.flow,
    kind: run.kind,
    trigger: run.trigger,
    subject: run.subject,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    outcome: run.outcome,
    phase: run.phase,
    counts: run.counts,
    progress: {
      total,
      totalSource: run.totalSource,
      done,
      percent: percent === null ? null : Math.round(percent * 10) / 10,
      ratePerSecond: ratePerSecond === null ? null : Math.round(ratePerSecond * 10) / 10,
      etaMs,
    },
  };
}

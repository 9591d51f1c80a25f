import type { Clock } from '../core/clock.js';
import type { RetryingEntry, RunRecord, StateStore } from '../core/ports/state-store.js';
import type { OutcomeCounts } from './engine-stats.js';
import type { FlowDirection } from './flow.js';
import { readCheckpoint } from './checkpoints.js';
import { emailJournalCheckpoint } from './email-events/email-event-poller.js';
import { cursorCheckpoint, replayCheckpoint, type CursorState, type ReplayState } from './feed-cursor.js';
import { controlCheckpoint, type FlowControlState } from './flow-control.js';
import { flowPhaseOf, toRunView, type FlowPhase, type RunView } from './runs/run-view.js';
import { nextWindowStart, type BulkSchedule } from '../core/import-window.js';
import { readCheckpointIfAny } from './checkpoints.js';
import {
  bulkFileStates,
  bulkViaCheckpoint,
  readBulkLaneState,
  type BulkFileState,
} from './records/bulk-loader.js';

/** What an event flow (F6) read from its journal, from its checkpoint `flow:<id>:journal`. */
export interface FlowJournalStatus {
  /** Events read (staged or not). */
  read: number;
  staged: number;
  /** Read but not staged, by reason (`type-send-disabled`, `soft-bounce`, `unreadable`). */
  skipped: Record<string, number>;
  /** Age of the journal position: now minus the event time of the newest event staged (ms); null before one. */
  positionAgeMs: number | null;
  /** When the journal last answered, and last said nothing is newer (ms). */
  readAt: number | null;
  caughtUpAt: number | null;
  /** Times the position expired (events lost: an alert was raised each time). */
  expiries: number;
  /**
   * Lag from an event's time at the source to its activity written in the target, p50 and p99 of
   * the events written in the last `windowMs` by this process; null when none was (or not known here).
   */
  eventLag: { p50Ms: number; p99Ms: number; windowMs: number } | null;
  /** The operator replay reading the journal again (`dcsync replay --flow … --since`); null when none. */
  replay: { since: number; startedAt: number; read: number; staged: number; before: number } | null;
}

/** What status needs of a flow's bulk lane configuration (F7). */
export interface StatusBulkLane {
  thresholdRecords: number;
  signalIntervalMs: number;
  schedule?: BulkSchedule | undefined;
}

/** The bulk lane of a flow (F7) as the store knows it (checkpoint `bulk:<flow>`), with its window and ETA. */
export interface FlowBulkLaneStatus {
  /** The lane holds the flow's bulk lane: runners send only its live changes through REST. */
  holding: boolean;
  /** An operator's choice (`dcsync replay --via`) in force, else null (the threshold decides). */
  via: 'bulk' | 'rest' | null;
  thresholdRecords: number;
  /** Files not settled yet by state, in the order of the states (states without files left out). */
  files: { state: BulkFileState; files: number; rows: number }[];
  /** Rows in those files. */
  rowsInFiles: number;
  /** Bulk-lane changes queued, not in a file yet. */
  rowsQueued: number;
  /** Rows imported so far by this lane, and their import rate (rows/s); null before the first import. */
  rowsImported: number;
  importRowsPerSecond: number | null;
  /** When the workflow last accepted a signal (ms); null before one. */
  lastSignalAt: number | null;
  /** The import window (null: signals at any time), whether it is open now, and its next opening (ms). */
  window: (BulkSchedule & { open: boolean; nextStartAt: number }) | null;
  /** When ready files may be signalled next (ms): the window and Campaign's 10-minute rule. */
  nextSignalAt: number | null;
  /**
   * When the pending bulk work should be imported (ms): the next signal, then the rows at the import
   * rate measured so far. Null when nothing is pending for the lane or no import was measured yet.
   */
  etaAt: number | null;
}

/** A flow as status collects it: what it reads, and whether it reads an event journal (F6). */
export interface StatusFlow {
  id: string;
  table: string;
  journal?: boolean;
  /** Which way it writes (health texts name the target). @default 'dynamics-to-campaign' */
  direction?: FlowDirection;
  /** Its bulk lane (F7), when configured. */
  bulk?: StatusBulkLane | undefined;
}

export interface FlowStatus {
  flow: string;
  table: string;
  /** Which way the flow writes: its target is Campaign, or Dynamics (F4's file side, F6). @default 'dynamics-to-campaign' */
  direction?: FlowDirection;
  control: FlowControlState;
  /** Read position (phase `initial` with no link before the first read). */
  cursor: CursorState;
  replay: ReplayState | null;
  backlog: { queued: number; leased: number; live: number; bulk: number };
  /** Age of the oldest queued change, ms; null when the inbox is empty. */
  lagMs: number | null;
  /** Changes that failed and wait for (or are in) a retry — not dead letters yet — by last error code. */
  retrying: { total: number; byCode: Omit<RetryingEntry, 'flow'>[] };
  deadLetters: number;
  /** Children waiting for a parent that has not landed yet (released when it does). */
  parked: number;
  /**
   * Children with no parent in Dynamics (an empty lookup on a cardinality-1 link): never released
   * by a parent, written only once their lookup is filled in Dynamics. Not counted in `parked`.
   */
  orphans: number;
  /** When the oldest of them was parked (ms); null without orphans. */
  orphansSince: number | null;
  synced: number;
  /** What this process applied since it started (null when not known here). */
  processed: OutcomeCounts | null;
  /** What the flow is doing: `initial load`, `replay` or `re-baseline` while such a run is active, else `live`. */
  phase: FlowPhase;
  /** The flow's active run (the oldest, should two overlap), with its written progress; null when none. */
  run: RunView | null;
  /** Event flows (F6) only: what the journal read; absent (or null) for flows read from a table. */
  journal?: FlowJournalStatus | null;
  /** Flows with a bulk lane (F7) only: its files, hold, window and ETA. */
  bulkLane?: FlowBulkLaneStatus | null;
}

/** The bulk lane's state from the store, its window and ETA (see {@link FlowBulkLaneStatus}). */
export async function bulkLaneStatusOf(
  store: StateStore,
  flow: string,
  lane: StatusBulkLane,
  rowsQueued: number,
  now: number,
): Promise<FlowBulkLaneStatus> {
  const state = await readBulkLaneState(store, flow, now);
  const choice = await readCheckpointIfAny(store.checkpoints, bulkViaCheckpoint, flow);
  const files = bulkFileStates
    .map((fileState) => {
      const mine = state.files.filter((f) => f.state === fileState);
      return { state: fileState, files: mine.length, rows: mine.reduce((n, f) => n + f.rows, 0) };
    })
    .filter((f) => f.files > 0);
  const rowsInFiles = files.reduce((n, f) => n + f.rows, 0);
  const rate = state.imported.ms > 0 ? (state.imported.rows * 1000) / state.imported.ms : null;
  const window = lane.schedule
    ? { ...lane.schedule, nextStartAt: nextWindowStart(lane.schedule, now) }
    : null;
  const unsignalled = state.files.some((f) => f.state === 'writing' || f.state === 'uploaded');
  const laneTakes =
    choice?.via === 'bulk' ||
    (choice?.via !== 'rest' && (state.holding || rowsQueued > lane.thresholdRecords));
  const rowsToSignal = state.files
    .filter((f) => f.state !== 'signalled' && f.state !== 'rejects-read')
    .reduce((n, f) => n + f.rows, 0);
  let nextSignalAt: number | null = null;
  if (unsignalled || (laneTakes && rowsQueued > 0)) {
    const after = Math.max(
      now,
      state.lastSignalAt === null ? now : state.lastSignalAt + lane.signalIntervalMs,
    );
    nextSignalAt = lane.schedule ? nextWindowStart(lane.schedule, after) : after;
  }
  const pending = rowsInFiles + (laneTakes ? rowsQueued : 0);
  let etaAt: number | null = null;
  if (pending > 0 && rate !== null) {
    // What is signalled imports from now; the rest from the next signal on.
    const signalled = rowsInFiles - rowsToSignal;
    const rest = pending - signalled;
    etaAt =
      rest > 0 && nextSignalAt !== null
        ? Math.max(now + (signalled * 1000) / rate, nextSignalAt) + (rest * 1000) / rate
        : now + (pending * 1000) / rate;
  }
  return {
    holding: state.holding || state.files.length > 0,
    via: choice?.via ?? null,
    thresholdRecords: lane.thresholdRecords,
    files,
    rowsInFiles,
    rowsQueued,
    rowsImported: state.imported.rows,
    importRowsPerSecond: rate === null ? null : Math.round(rate * 10) / 10,
    lastSignalAt: state.lastSignalAt,
    window: window === null ? null : { ...window, open: window.nextStartAt === now },
    nextSignalAt,
    etaAt: etaAt === null ? null : Math.round(etaAt),
  };
}

async function journalOf(
  store: StateStore,
  flow: string,
  now: number,
  eventLag: FlowJournalStatus['eventLag'],
): Promise<FlowJournalStatus> {
  const state = await readCheckpoint(store.checkpoints, emailJournalCheckpoint, flow, now);
  const replay = state.replay;
  return {
    read: state.counts.read,
    staged: state.counts.staged,
    skipped: { ...state.counts.skipped },
    positionAgeMs: state.newestEventAt === null ? null : Math.max(0, now - state.newestEventAt),
    readAt: state.readAt,
    caughtUpAt: state.caughtUpAt,
    expiries: state.counts.expiries,
    eventLag,
    replay: replay
      ? {
          since: replay.since,
          startedAt: replay.startedAt,
          read: replay.read,
          staged: replay.staged,
          before: replay.before,
        }
      : null,
  };
}

function retryingOf(entries: readonly RetryingEntry[], flow: string): FlowStatus['retrying'] {
  const byCode = entries
    .filter((e) => e.flow === flow)
    .map(({ code, count, oldestFailedAt }) => ({ code, count, oldestFailedAt }));
  return { total: byCode.reduce((n, e) => n + e.count, 0), byCode };
}

function runOf(
  active: readonly RunRecord[],
  live: readonly RunView[],
  now: number,
): { phase: FlowPhase; run: RunView | null } {
  const first = active[0];
  if (!first) return { phase: 'live', run: null };
  return { phase: flowPhaseOf(active), run: live.find((v) => v.id === first.id) ?? toRunView(first, now) };
}

/**
 * Status of flows as the store knows it — works from any process (`dcsync status`, the HTTP API)
 * whether or not the engine runs there.
 */
export async function collectFlowStatuses(
  store: StateStore,
  clock: Clock,
  flows: readonly StatusFlow[],
  processed: Record<string, OutcomeCounts> = {},
  liveRuns: readonly RunView[] = [],
  eventLags: Readonly<Record<string, FlowJournalStatus['eventLag']>> = {},
): Promise<FlowStatus[]> {
  const backlog = await store.queue.backlog();
  const retrying = await store.queue.retrying();
  const activeRuns = await store.runs.active();
  const out: FlowStatus[] = [];
  for (const flow of flows) {
    const mine = backlog.filter((b) => b.flow === flow.id);
    const oldest = await store.queue.oldestQueuedAt(flow.id);
    const now = clock.now();
    const control = await readCheckpoint(store.checkpoints, controlCheckpoint, flow.id, now);
    const orphans = await store.parked.count(flow.id, 'orphan');
    out.push({
      flow: flow.id,
      table: flow.table,
      ...(flow.direction === undefined ? {} : { direction: flow.direction }),
      control,
      cursor: await readCheckpoint(store.checkpoints, cursorCheckpoint, flow.id, now),
      replay: await readCheckpoint(store.checkpoints, replayCheckpoint, flow.id, now),
      backlog: {
        queued: mine.reduce((n, b) => n + b.queued, 0),
        leased: mine.reduce((n, b) => n + b.leased, 0),
        live: mine.filter((b) => b.lane === 'live').reduce((n, b) => n + b.queued + b.leased, 0),
        bulk: mine.filter((b) => b.lane === 'bulk').reduce((n, b) => n + b.queued + b.leased, 0),
      },
      lagMs: oldest === null ? null : Math.max(0, now - oldest),
      retrying: retryingOf(retrying, flow.id),
      deadLetters: await store.deadLetters.count({ flow: flow.id }),
      parked: await store.parked.count(flow.id, 'waiting'),
      orphans,
      orphansSince: orphans > 0 ? await store.parked.oldestParkedAt(flow.id, 'orphan') : null,
      synced: await store.keyMap.count(flow.id),
      processed: processed[flow.id] ?? null,
      ...runOf(
        activeRuns.filter((r) => r.flow === flow.id),
        liveRuns,
        now,
      ),
      ...(flow.journal ? { journal: await journalOf(store, flow.id, now, eventLags[flow.id] ?? null) } : {}),
      ...(flow.bulk
        ? {
            bulkLane: await bulkLaneStatusOf(
              store,
              flow.id,
              flow.bulk,
              mine.filter((b) => b.lane === 'bulk').reduce((n, b) => n + b.queued, 0),
              now,
            ),
          }
        : {}),
    });
  }
  return out;
}

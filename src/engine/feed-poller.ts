import { randomUUID } from 'node:crypto';
import { SyncError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import {
  CURSOR_EXPIRED_CODE,
  CURSOR_REFUSED_CODE,
  type ChangeFeed,
  type ChangePage,
} from '../core/ports/change-feed.js';
import type { AlertSink } from '../core/ports/alert-sink.js';
import type { EngineLogger } from '../core/ports/engine-logger.js';
import type {
  CheckpointWrite,
  EnqueueOutcome,
  StateStore,
  WorkItemInput,
} from '../core/ports/state-store.js';
import { recordChangePayload, type RecordChange } from '../core/record-change.js';
import { checkpointWrite, readCheckpoint, writeCheckpoint } from './checkpoints.js';
import type { EngineEvents, ReadProgress } from './engine-events.js';
import {
  cursorCheckpoint,
  laneOf,
  originOf,
  pageItems,
  replayCheckpoint,
  type CursorState,
  type ReplayState,
} from './feed-cursor.js';
import type { FlowControl } from './flow-control.js';
import { evaluateBreaker, type BreakerSettings } from './mass-change-breaker.js';
import type { Parking } from './parking.js';
import type { Duty } from './duty.js';
import { WakeableSleep } from './wakeable-sleep.js';

/** How often a flow with parking settles its parked children when no event does (crash windows). */
const parkedSweepIntervalMs = 5 * 60_000;

export interface FeedPollerOptions {
  /** The flow and the feed it reads. */
  flow: { id: string; feed: ChangeFeed };
  store: StateStore;
  clock: Clock;
  logger: EngineLogger;
  alerts: AlertSink;
  control: FlowControl;
  parking: Parking;
  /** Staged changes and read progress are reported here (the runner wakes on `item.staged`). */
  events: EngineEvents;
  breaker: BreakerSettings;
  /**
   * The duty `poller:<flow>`: only its holder reads the feed, and each page is staged fenced by it,
   * so a former holder (paused past the duty's TTL) can never stage after a takeover.
   */
  duty: Duty;
  /** @default 5000 */
  pollIntervalMs: number;
  /** Replay pages read per poll cycle, so live deltas are read in between. @default 1 */
  replayPagesPerCycle?: number;
}

/**
 * Reads one flow's change feed (a Dynamics table's change tracking) and stages its changes
 * durably. The cursor only advances in the same transaction that stages the page's changes; an
 * interrupted full read resumes from its last page; an expired cursor triggers a re-baseline (full
 * read, then deletes for the records that vanished meanwhile). Replays are read interleaved with
 * live changes, in read order, so a replayed (older) state is never staged after a newer live one.
 */
export class FeedPoller {
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly idle = new WakeableSleep({ rememberWake: true });
  private lastParkedSweepAt: number | null = null;
  private leader = false;
  private totalEstimate: number | null | undefined;
  private readonly abort = new AbortController();
  private unsubscribe: (() => void) | null = null;
  /** True once a delta read reached its final page with nothing new. */
  caughtUp = false;
  /** Reads (passes of the loop that read the source) started and finished, in order. */
  private readsStarted = 0;
  private readsFinished = 0;
  /** True while this poller reads a replay (its last pass found one not read to the end). */
  replaying = false;

  constructor(private readonly options: FeedPollerOptions) {}

  get flowId(): string {
    return this.options.flow.id;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // Taking the duty wakes the loop at once (a takeover reads without waiting a poll interval).
    this.unsubscribe = this.options.duty.onChange((held) => {
      if (held) this.wake();
    });
    this.options.duty.start();
    this.loop = this.run();
  }

  /** A webhook or an operator asked for an immediate read. */
  wake(): void {
    this.idle.wake();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    this.wake();
    await this.loop;
    this.unsubscribe?.();
    this.unsubscribe = null;
    // Released at once: another worker reads this feed without waiting for the duty's TTL.
    await this.options.duty.stop();
  }

  private sleep(ms: number): Promise<void> {
    return this.idle.sleep(ms);
  }

  private async run(): Promise<void> {
    while (this.running) {
      let busy = false;
      try {
        this.leader = this.options.duty.held;
        if (this.leader && !this.options.control.isPaused(this.flowId)) {
          this.readsStarted++;
          try {
            busy = await this.pollOnce();
          } finally {
            this.readsFinished++;
          }
        }
      } catch (error) {
        if (!this.running) break;
        if (error instanceof SyncError && error.code === 'STORE_LOCK_LOST') {
          await this.options.duty.lost('a page was refused: another worker reads this feed now');
          continue;
        }
        this.caughtUp = false;
        this.options.logger.error({ err: error, flow: this.flowId }, 'reading changes failed; will retry');
        await this.sleep(Math.min(this.options.pollIntervalMs, 5000));
        continue;
      }
      if (!this.running) break;
      if (!busy) await this.sleep(this.options.pollIntervalMs);
    }
  }

  /** A mark for {@link readSince}: the reads started so far. */
  readMark(): number {
    return this.readsStarted;
  }

  /**
   * Whether a read that started after `mark` was taken has finished: what {@link caughtUp} says
   * is then about the source as it was after that moment, not about a read before it.
   */
  readSince(mark: number): boolean {
    return this.readsFinished > mark;
  }

  readCursor(): Promise<CursorState> {
    return readCheckpoint(
      this.options.store.checkpoints,
      cursorCheckpoint,
      this.flowId,
      this.options.clock.now(),
    );
  }

  readReplay(): Promise<ReplayState | null> {
    return readCheckpoint(
      this.options.store.checkpoints,
      replayCheckpoint,
      this.flowId,
      this.options.clock.now(),
    );
  }

  private saveCursor(cursor: CursorState): Promise<void> {
    return writeCheckpoint(this.options.store.checkpoints, cursorCheckpoint, this.flowId, cursor);
  }

  private staged(count: number, lane: 'live' | 'bulk'): void {
    if (count > 0) this.options.events.emit('item.staged', { flow: this.flowId, count, lane });
  }

  /**
   * One cycle: follow the cursor until its read is final (or the breaker trips), then read a few
   * replay pages. Returns true when more work is immediately available (full read in progress).
   */
  async pollOnce(): Promise<boolean> {
    await this.sweepParked();
    let cursor = await this.readCursor();
    if (cursor.phase === 'rebaseline-finish') {
      await this.finishRebaseline(cursor);
      return true;
    }
    if (cursor.runId === null) {
      cursor = {
        ...cursor,
        runId: randomUUID(),
        runRows: 0,
        runDeletes: 0,
        runOverwrites: 0,
        startedAt: this.options.clock.now(),
      };
      if (cursor.phase === 'initial') await this.reportProgress('initial', 0, cursor.startedAt, false, true);
    }
    const fullRead = cursor.phase !== 'delta';
    try {
      // The cursor's phase, not the page, says whether this read is a delta: its pages never feed
      // the "not seen, so deleted" reconciliation of a full read.
      for await (const page of this.options.flow.feed.readChanges(cursor.link, {
        signal: this.abort.signal,
        delta: cursor.phase === 'delta',
      })) {
        const next = await this.stagePage(cursor, page);
        if (next === null) return false; // breaker tripped: paused
        cursor = next;
        if (!this.running) return false;
        // A full read just ended: follow its delta link at once (changes made during the read,
        // and the proof of being caught up) rather than a poll interval later.
        if (page.isFinal && fullRead) return true;
        if (page.isFinal) break;
        // Full reads are long: let replay and other flows breathe by returning to the loop.
        if (cursor.phase !== 'delta') return true;
      }
    } catch (error) {
      if (error instanceof SyncError && error.code === CURSOR_EXPIRED_CODE) {
        await this.startRebaseline(cursor, 'expired');
        return true;
      }
      // A refused cursor is only ever a delta read's (a full read refused stays an error): give
      // the link up as if expired rather than retry it forever, and say the answer was unexpected.
      if (error instanceof SyncError && error.code === CURSOR_REFUSED_CODE && cursor.phase === 'delta') {
        // Refused again right after a re-baseline for the same reason: re-reading does not help.
        if ((cursor.refusedRebaselines ?? 0) > 0) {
          await this.pauseRefused(error.message);
          return false;
        }
        await this.startRebaseline(cursor, 'refused', error.message);
        return true;
      }
      throw error;
    }
    return this.pollReplay();
  }

  /**
   * Stage changes (with a checkpoint); changes of parked children are judged on the way so a
   * delete of a child never written is dropped and a child that no longer waits is unparked (I6).
   */
  private async stage(
    items: readonly WorkItemInput[],
    checkpoint?: CheckpointWrite,
  ): Promise<EnqueueOutcome[]> {
    const fence = this.options.duty.fence;
    if (!fence)
      throw new SyncError('STORE_LOCK_LOST', `duty poller:${this.flowId} is not held by this worker`);
    const outcomes = await this.options.parking.stage(this.flowId, items, (staged) =>
      this.options.store.queue.enqueue(staged, checkpoint, fence),
    );
    this.absorbed(items, outcomes);
    return outcomes;
  }

  /** Announce the changes read that did not become work items of their own (see `item.absorbed`). */
  private absorbed(items: readonly WorkItemInput[], outcomes: readonly EnqueueOutcome[]): void {
    const lane = items[0]?.lane ?? 'live';
    const counts: Record<string, number> = {};
    for (const outcome of outcomes) if (outcome !== 'queued') counts[outcome] = (counts[outcome] ?? 0) + 1;
    // Parking drops a delete of a child never written before the store sees it.
    const dropped = items.length - outcomes.length;
    if (dropped > 0) counts.dropped = dropped;
    if (Object.keys(counts).length > 0)
      this.options.events.emit('item.absorbed', { flow: this.flowId, lane, outcomes: counts });
  }

  /** Settle this flow's parked children at start and now and then, for what no event settles. */
  private async sweepParked(): Promise<void> {
    const now = this.options.clock.now();
    if (this.lastParkedSweepAt !== null && now - this.lastParkedSweepAt < parkedSweepIntervalMs) return;
    this.lastParkedSweepAt = now;
    const swept = await this.options.parking.sweep(this.flowId);
    if (swept.dropped + swept.released > 0)
      this.options.logger.info({ flow: this.flowId, ...swept }, 'settled parked children');
  }

  /** Stage one page with its checkpoint; null when the mass-change breaker paused the flow. */
  private async stagePage(cursor: CursorState, page: ChangePage): Promise<CursorState | null> {
    const { store, clock } = this.options;
    const next: CursorState = {
      ...cursor,
      link: page.resumeLink,
      runRows: cursor.runRows + page.upserts.length + page.deletes.length,
    };
    if (cursor.phase === 'delta') {
      const keys = [...page.upserts.map((r) => r.id), ...page.deletes];
      if (keys.length > 0) {
        const synced = new Set((await store.keyMap.getMany(this.flowId, keys)).map((e) => e.recordKey));
        next.runOverwrites += page.upserts.filter((r) => synced.has(r.id)).length;
        next.runDeletes += page.deletes.filter((d) => synced.has(d)).length;
        const verdict = await this.checkBreaker(next);
        if (verdict) {
          await this.trip(cursor, verdict);
          return null;
        }
      }
    }
    if (cursor.phase === 'rebaseline' && page.upserts.length > 0) {
      await store.keyMap.markSeen(
        this.flowId,
        page.upserts.map((r) => r.id),
        cursor.runId ?? 'rebaseline',
      );
    }
    if (page.isFinal) {
      if (cursor.phase === 'rebaseline') {
        next.phase = 'rebaseline-finish';
      } else {
        if (cursor.phase === 'delta') delete next.refusedRebaselines;
        next.phase = 'delta';
        next.runId = null;
        next.caughtUpAt = clock.now();
      }
    }
    const items = pageItems(this.flowId, page, originOf(cursor.phase), laneOf(cursor.phase));
    await this.stage(items, checkpointWrite(cursorCheckpoint, this.flowId, next));
    this.staged(items.length, laneOf(cursor.phase));
    this.caughtUp = page.isFinal && cursor.phase === 'delta' && items.length === 0;
    if (cursor.phase !== 'delta') {
      // A re-baseline's read ends once the deletes for what it did not see are staged too.
      await this.reportProgress(
        cursor.phase === 'initial' ? 'initial' : 'rebaseline',
        next.runRows,
        next.startedAt,
        page.isFinal && cursor.phase === 'initial',
      );
    }
    if (page.isFinal && cursor.phase === 'initial') {
      this.options.logger.info(
        { flow: this.flowId, rows: next.runRows },
        'initial read complete; following deltas',
      );
    }
    return next;
  }

  private async checkBreaker(cursor: CursorState): Promise<string | null> {
    if (this.options.control.isMassChangeAccepted(this.flowId, cursor.runId)) return null;
    const synced = await this.options.store.keyMap.count(this.flowId);
    return evaluateBreaker(this.options.breaker, {
      synced,
      deletes: cursor.runDeletes,
      overwrites: cursor.runOverwrites,
    });
  }

  private async trip(cursor: CursorState, reason: string): Promise<void> {
    // Persist the run's counters at the last staged page; the tripping page is read again on resume.
    await this.saveCursor(cursor);
    await this.options.control.pause(this.flowId, `mass-change breaker: ${reason}`, cursor.runId);
    this.options.logger.warn(
      { flow: this.flowId, runId: cursor.runId },
      `mass-change breaker tripped: ${reason}`,
    );
    await this.options.alerts.raise({
      kind: 'breaker-tripped',
      severity: 'critical',
      subject: this.flowId,
      message: `Flow ${this.flowId} paused: ${reason}. Review the change in Dynamics, then resume with "dcsync flow resume --flow ${this.flowId} --accept-mass-change".`,
      at: this.options.clock.now(),
    });
  }

  private async startRebaseline(
    cursor: CursorState,
    why: 'expired' | 'refused',
    answer?: string,
  ): Promise<void> {
    const runId = randomUUID();
    const next: CursorState = {
      phase: 'rebaseline',
      link: null,
      runId,
      runRows: 0,
      runDeletes: 0,
      runOverwrites: 0,
      startedAt: this.options.clock.now(),
      caughtUpAt: cursor.caughtUpAt,
      ...(why === 'refused' ? { refusedRebaselines: (cursor.refusedRebaselines ?? 0) + 1 } : {}),
    };
    await this.saveCursor(next);
    await this.reportProgress('rebaseline', 0, next.startedAt, false, true);
    this.options.logger.warn(
      { flow: this.flowId, runId, reason: why },
      why === 'expired'
        ? 'delta link expired: re-baselining with a full read'
        : 'delta link refused with an unexpected answer: re-baselining with a full read',
    );
    const consequence =
      'a full re-read (re-baseline) started. Changes are compared with the key map; records deleted meanwhile will be deleted in Campaign if deletes are enabled.';
    await this.options.alerts.raise({
      kind: 'delta-rebaseline',
      severity: 'warning',
      subject: this.flowId,
      message:
        why === 'expired'
          ? `The Dynamics delta link of flow ${this.flowId} expired; ${consequence}`
          : `The Dynamics delta link of flow ${this.flowId} was refused with an answer that is not the documented expiry (${answer ?? 'unknown answer'}); it was given up and ${consequence} If this repeats, report the status and code.`,
      at: this.options.clock.now(),
    });
  }

  /**
   * The delta link a re-baseline just minted was refused like the one before it: another full read
   * would end the same way, so the flow pauses with the answer, and the operator resumes it once
   * Dataverse accepts the link again (resuming follows the same link; it is never retried alone).
   */
  private async pauseRefused(answer: string): Promise<void> {
    const reason = `Dynamics refused the delta link again after a re-baseline (${answer})`;
    await this.options.control.pause(this.flowId, reason);
    this.options.logger.error(
      { flow: this.flowId },
      'delta link refused again after a re-baseline: flow paused',
    );
    await this.options.alerts.raise({
      kind: 'flow-paused',
      severity: 'critical',
      subject: this.flowId,
      message: `Flow ${this.flowId} paused: Dynamics refused its delta link with an answer that is not the documented expiry, again right after a re-baseline, so re-reading the table does not help (${answer}). Check the Dataverse environment (change tracking of table ${this.options.flow.feed.table}, service health), then resume with "dcsync flow resume --flow ${this.flowId}".`,
      at: this.options.clock.now(),
    });
  }

  /**
   * After a re-baseline's full read: stage a delete for every key the read did not see that the
   * store holds anything for. Work that never reached Campaign is cancelled at once — a queued
   * create (the delete replaces its queued state, or follows its lease), a parked child (dropped),
   * a dead letter (superseded by the delete, so a later retry cannot bring the record back): that
   * deletes nothing in Campaign, so the mass-change breaker neither counts nor holds it. Keys with
   * a key-map entry (a synced record, or a create intent whose record may be in Campaign) are
   * counted against the synced records (PKeys only) and deleted only if the breaker allows.
   */
  private async finishRebaseline(cursor: CursorState): Promise<void> {
    const { store } = this.options;
    const runId = cursor.runId ?? 'rebaseline';
    let cancelled = 0;
    let mapped = 0;
    let after: string | null = null;
    for (;;) {
      const unseen = await store.keyMap.listUnseen(this.flowId, runId, after, 1000);
      if (unseen.length === 0) break;
      after = unseen[unseen.length - 1]!.recordKey;
      mapped += unseen.filter((k) => k.mapped).length;
      const pending = unseen.filter((k) => !k.mapped).map((k) => k.recordKey);
      cancelled += pending.length;
      await this.stageRebaselineDeletes(pending, runId);
    }
    this.staged(cancelled, 'bulk');
    if (mapped > 0 && !this.options.control.isMassChangeAccepted(this.flowId, cursor.runId)) {
      const synced = await store.keyMap.count(this.flowId);
      const verdict = evaluateBreaker(this.options.breaker, { synced, deletes: mapped, overwrites: 0 });
      if (verdict) {
        await this.trip(cursor, `re-baseline found ${verdict}`);
        return;
      }
    }
    let deleted = 0;
    after = null;
    for (;;) {
      const unseen = await store.keyMap.listUnseen(this.flowId, runId, after, 1000);
      if (unseen.length === 0) break;
      const keys = unseen.map((k) => k.recordKey);
      after = keys[keys.length - 1]!;
      deleted += keys.length;
      await this.stageRebaselineDeletes(keys, runId);
    }
    const next: CursorState = {
      ...cursor,
      phase: 'delta',
      runId: null,
      caughtUpAt: this.options.clock.now(),
    };
    await this.saveCursor(next);
    await store.keyMap.clearSeen(this.flowId, runId);
    this.staged(deleted, 'bulk');
    this.options.logger.info(
      { flow: this.flowId, rows: cursor.runRows, missing: cancelled + deleted, cancelled },
      're-baseline complete',
    );
    // Rows read plus the deletes staged for what the read did not see: what the run will write.
    await this.reportProgress('rebaseline', cursor.runRows + cancelled + deleted, cursor.startedAt, true);
  }

  /** Stage deletes for keys a re-baseline did not see, then mark them seen (a crash here stages them once). */
  private async stageRebaselineDeletes(keys: readonly string[], runId: string): Promise<void> {
    if (keys.length === 0) return;
    const change: RecordChange = { op: 'delete', origin: 'rebaseline', reason: 'missing-after-rebaseline' };
    await this.stage(
      keys.map((recordKey) => ({
        flow: this.flowId,
        recordKey,
        payload: recordChangePayload(change),
        lane: 'bulk' as const,
      })),
    );
    await this.options.store.keyMap.markSeen(this.flowId, keys, runId);
  }

  /** Ask for a replay of every row of the table (resumable; paced as bulk work). */
  async requestReplay(): Promise<void> {
    const existing = await this.readReplay();
    if (existing) return;
    const state: ReplayState = {
      link: null,
      rows: 0,
      startedAt: this.options.clock.now(),
      total: await this.estimateTotal(),
    };
    await writeCheckpoint(this.options.store.checkpoints, replayCheckpoint, this.flowId, state);
    this.options.events.emit('read.started', { flow: this.flowId, kind: 'replay', ...state, done: false });
    this.wake();
  }

  private async pollReplay(): Promise<boolean> {
    const state = await this.readReplay();
    this.replaying = state !== null;
    if (!state) return false;
    const pages = this.options.replayPagesPerCycle ?? 1;
    let read = 0;
    let current = state;
    for await (const page of this.options.flow.feed.readChanges(current.link, {
      signal: this.abort.signal,
      delta: false,
    })) {
      const items = pageItems(this.flowId, { ...page, deletes: [] }, 'replay', 'bulk');
      current = { ...current, link: page.resumeLink, rows: current.rows + page.upserts.length };
      if (page.isFinal) {
        await this.stage(items);
        await this.options.store.checkpoints.delete(replayCheckpoint.name(this.flowId));
        this.replaying = false;
        this.options.logger.info({ flow: this.flowId, rows: current.rows }, 'replay read complete');
      } else {
        await this.stage(items, checkpointWrite(replayCheckpoint, this.flowId, current));
      }
      this.staged(items.length, 'bulk');
      this.progress({
        flow: this.flowId,
        kind: 'replay',
        rows: current.rows,
        total: current.total,
        startedAt: current.startedAt,
        done: page.isFinal,
      });
      read++;
      if (page.isFinal) return false;
      if (read >= pages) return true;
    }
    return false;
  }

  private async estimateTotal(): Promise<number | null> {
    if (this.totalEstimate === undefined) {
      this.totalEstimate = await this.options.flow.feed.estimateCount().catch(() => null);
    }
    return this.totalEstimate;
  }

  private async reportProgress(
    kind: 'initial' | 'rebaseline',
    rows: number,
    startedAt: number,
    done: boolean,
    starting = false,
  ): Promise<void> {
    // The total is asked for once the read is under way (a start costs no extra call).
    const total = starting ? (this.totalEstimate ?? null) : await this.estimateTotal();
    const progress = { flow: this.flowId, kind, rows, total, startedAt, done };
    if (starting) this.options.events.emit('read.started', progress);
    else this.progress(progress);
  }

  private progress(progress: ReadProgress): void {
    this.options.events.emit(progress.done ? 'read.ended' : 'read.progressed', progress);
  }
}

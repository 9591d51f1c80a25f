import { z } from 'zod';
import { formatIso, type Clock } from '../../core/clock.js';
import { SyncError } from '../../core/errors.js';
import type { AlertSink } from '../../core/ports/alert-sink.js';
import type {
  EmailEventCursor,
  EmailEventPage,
  EmailEventSource,
} from '../../core/ports/email-event-source.js';
import type { EngineLogger } from '../../core/ports/engine-logger.js';
import type { StateStore, WorkItemInput, WorkLane } from '../../core/ports/state-store.js';
import { checkpointWrite, defineCheckpoint, readCheckpoint, writeCheckpoint } from '../checkpoints.js';
import type { Duty } from '../duty.js';
import type { EngineEvents } from '../engine-events.js';
import type { FlowControl } from '../flow-control.js';
import type { SourceService } from '../sync-engine.js';
import { WakeableSleep } from '../wakeable-sleep.js';
import {
  emailEventPayload,
  emailEventsFlowId,
  filterReasonOf,
  journalRetentionMs,
  type EmailEventSettings,
} from './email-event-settings.js';

const counter = z.number().int().nonnegative();

/**
 * The reader waits for a full inbox only while the newest event it staged is younger than this:
 * every event not read yet was published after it, so it has at least six of the journal's seven
 * days of retention left. Behind by more (a long outage), the reader stages regardless, so that no
 * event nears its expiry in the journal.
 */
export const inboxHoldMaxAgeMs = 86_400_000;

/** How often a reader waiting for a full inbox looks again (the workers take ~500 events meanwhile). */
const inboxWaitMs = 250;

const journalStateSchema = z.object({
  /** The position to read after; null before the first read (and after an expiry). */
  position: z.string().nullable(),
  /** The next read without a position starts at the oldest retained event (after an expiry). */
  fromOldest: z.boolean(),
  /** When the source last answered. */
  readAt: z.number().nullable(),
  /** When the source last said nothing is newer (caught up). */
  caughtUpAt: z.number().nullable(),
  /** Event time of the newest event staged (ms): the journal position's age. */
  newestEventAt: z.number().nullable(),
  counts: z.object({
    /** Events read (staged or not). */
    read: counter,
    staged: counter,
    /** Read but not staged, by reason (`type-send-disabled`, `soft-bounce`, `unreadable`). */
    skipped: z.record(z.string(), counter),
    /** Times the position expired, and the events known lost then (unknown counts are not added). */
    expiries: counter,
    lostKnown: counter,
  }),
  /**
   * An operator replay (`dcsync replay --flow … --since`): the journal is read again from its oldest
   * retained event; until the read passes `until` (the position the replay began at), events older
   * than `since` are not staged, and what is read is counted here, not in `counts`. Null when none runs.
   */
  replay: z
    .object({
      since: z.number(),
      until: z.string().nullable(),
      /** The request's time: its identity (`lastReplayStartedAt` once done). */
      startedAt: z.number(),
      read: counter,
      staged: counter,
      /** Read again but older than `since`: not staged. */
      before: counter,
    })
    .nullable()
    .default(null),
  /** The last replay that ended (its `startedAt`): a request left behind by a crash is not begun again. */
  lastReplayStartedAt: z.number().nullable().default(null),
  /** The last expiry: an operator alert was raised with it. */
  lastExpiry: z
    .object({
      at: z.number(),
      position: z.string(),
      lostEvents: z.number().int().nonnegative().nullable(),
      message: z.string(),
    })
    .nullable(),
});

/** Where flow F6 reads its source, and what it read so far. */
export type EmailJournalState = z.infer<typeof journalStateSchema>;

/** Checkpoint `flow:<id>:journal`: the journal position of an event flow, committed with the events it staged. */
export const emailJournalCheckpoint = defineCheckpoint<EmailJournalState>({
  description: 'journal position of an e-mail event flow',
  name: (flowId) => `flow:${flowId}:journal`,
  schema: journalStateSchema,
  initial: () => ({
    position: null,
    fromOldest: false,
    readAt: null,
    caughtUpAt: null,
    newestEventAt: null,
    counts: { read: 0, staged: 0, skipped: {}, expiries: 0, lostKnown: 0 },
    replay: null,
    lastReplayStartedAt: null,
    lastExpiry: null,
  }),
});

const replayRequestSchema = z.object({
  /** Events from this time on are staged again (ms). */
  since: z.number(),
  startedAt: z.number(),
  /** The shape of a feed's replay checkpoint, which the run tracker and status read by this name. */
  link: z.null(),
  rows: counter,
  total: z.number().nullable(),
});

/** An operator's request to read a journal again from a date. */
export type EmailReplayRequest = z.infer<typeof replayRequestSchema>;

/**
 * Checkpoint `flow:<id>:replay` of an event flow: a replay was requested and its read is not done.
 * Written by whoever asks (no duty needed), begun by the journal's reader, deleted once the read
 * passed the position it began at. Readable as a feed's replay checkpoint (same name and fields), so
 * the run tracker and status treat it as any flow's replay.
 */
export const emailReplayRequestCheckpoint = defineCheckpoint<EmailReplayRequest | null>({
  description: 'replay request of an e-mail event flow',
  name: (flowId) => `flow:${flowId}:replay`,
  schema: replayRequestSchema,
  initial: () => null,
});

export interface EmailEventPollerOptions {
  source: EmailEventSource;
  settings: Pick<EmailEventSettings, 'types'>;
  store: StateStore;
  clock: Clock;
  logger: EngineLogger;
  alerts: AlertSink;
  events: EngineEvents;
  /** Paused flows are not read. */
  control?: Pick<FlowControl, 'isPaused'> | undefined;
  /** The duty `poller:emailEvents`: only its holder reads, and each page is staged fenced by it. */
  duty: Duty;
  /** Where the first read starts when no position is stored. */
  start: 'oldest' | 'latest';
  /** Wait when the source is empty and says nothing, or after a failure. */
  pollIntervalMs: number;
  /** Events per read. */
  limit?: number | undefined;
  /** @default 'bulk' (opt-out writes and contact changes go first) */
  lane?: WorkLane | undefined;
  /**
   * Events of the flow queued in the inbox at which reading waits for the workers: the journal
   * keeps what is not read yet, and a small inbox keeps its indexes small (a burst of hundreds of
   * thousands staged at once made every staging, lease and completion dearer). Not applied once the
   * events read are older than {@link inboxHoldMaxAgeMs}. @default 5000
   */
  inboxLimit?: number | undefined;
  /** @default emailEventsFlowId */
  flowId?: string | undefined;
}

/**
 * Flow F6's source: reads the e-mail event journal forward from its stored position, as the one
 * worker holding its duty. Each page's events of the enabled types are staged as work items (key:
 * the event id) in ONE transaction with the new position, fenced by the duty (I3: a crash before
 * the commit reads the page again; after it, nothing is lost; a replayed event coalesces with its
 * queued item or is written again as a duplicate, which the applier counts as done). Events of a
 * disabled type and soft bounces are counted and not staged. An expired position is an operator
 * alert with what is known of the loss, then the read starts again at the oldest retained event.
 */
export class EmailEventPoller implements SourceService {
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly idle = new WakeableSleep();
  private readonly abort = new AbortController();
  private unsubscribe: (() => void) | null = null;
  private attempted = false;
  /** The last read found nothing newer. */
  private caughtUp = false;
  /** Events that fit in the inbox as last counted, less those staged since. */
  private inboxRoom = 0;
  private control: Pick<FlowControl, 'isPaused'> | undefined;

  constructor(private readonly options: EmailEventPollerOptions) {
    this.control = options.control;
  }

  get flowId(): string {
    return this.options.flowId ?? emailEventsFlowId;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.options.duty.onChange((held) => {
      if (held) this.wake();
    });
    this.options.duty.start();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    this.wake();
    await this.loop;
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.options.duty.stop();
  }

  /** The engine's flow control, once the engine exists (a paused flow is not read). */
  attach(control: Pick<FlowControl, 'isPaused'>): void {
    this.control = control;
  }

  /** Caught up (no replay waiting), paused, or the duty is another worker's (nothing to read here). */
  async isIdle(): Promise<boolean> {
    if (!this.attempted) return false;
    if (!this.options.duty.held || this.isPaused()) return true;
    return this.caughtUp && (await this.readReplayRequest()) === null;
  }

  readReplayRequest(): Promise<EmailReplayRequest | null> {
    return readCheckpoint(
      this.options.store.checkpoints,
      emailReplayRequestCheckpoint,
      this.flowId,
      this.options.clock.now(),
    );
  }

  /**
   * Ask for the journal to be read again from `sinceMs` (null: its oldest retained event): events
   * from then on are staged again and their activities written unless they exist (the activity id
   * is derived from the event id, so a second create is refused as a duplicate). Any process may
   * ask; the worker holding the duty begins it at its next read. A date older than the journal's
   * retention (7 days) is refused: those events are gone. Nothing happens while one runs.
   */
  async requestReplay(sinceMs: number | null): Promise<{ since: number; resumed: boolean }> {
    const now = this.options.clock.now();
    const oldest = now - journalRetentionMs;
    if (sinceMs !== null && (sinceMs < oldest || sinceMs > now))
      throw new SyncError(
        'REPLAY_SINCE_INVALID',
        `${formatIso(sinceMs)} is ${sinceMs > now ? 'in the future' : "outside the journal's retention"}: ${this.options.source.name} keeps events ${journalRetentionMs / 86_400_000} days, so a replay can start from ${formatIso(oldest)} at the earliest (now ${formatIso(now)})`,
      );
    const existing = await this.readReplayRequest();
    if (existing) return { since: existing.since, resumed: true };
    const request: EmailReplayRequest = {
      since: sinceMs ?? oldest,
      startedAt: now,
      link: null,
      rows: 0,
      total: null,
    };
    await writeCheckpoint(this.options.store.checkpoints, emailReplayRequestCheckpoint, this.flowId, request);
    this.options.events.emit('read.started', {
      flow: this.flowId,
      kind: 'replay',
      rows: 0,
      total: null,
      startedAt: request.startedAt,
      done: false,
    });
    this.caughtUp = false;
    this.wake();
    return { since: request.since, resumed: false };
  }

  private isPaused(): boolean {
    return this.control?.isPaused(this.flowId) === true;
  }

  wake(): void {
    this.idle.wake();
  }

  readState(): Promise<EmailJournalState> {
    return readCheckpoint(
      this.options.store.checkpoints,
      emailJournalCheckpoint,
      this.flowId,
      this.options.clock.now(),
    );
  }

  private sleep(ms: number): Promise<void> {
    return this.idle.sleep(ms);
  }

  private async run(): Promise<void> {
    await this.options.duty.tryNow();
    this.attempted = true;
    while (this.running) {
      let waitMs = this.options.pollIntervalMs;
      try {
        if (this.options.duty.held && !this.isPaused()) {
          const next = await this.pollOnce();
          waitMs = next.more ? 0 : next.waitMs;
        }
      } catch (error) {
        if (!this.running) break;
        this.caughtUp = false;
        if (error instanceof SyncError && error.code === 'STORE_LOCK_LOST') {
          await this.options.duty.lost('a journal page was refused: another worker reads the journal now');
          continue;
        }
        this.options.logger.error(
          { err: error, flow: this.flowId },
          'reading e-mail events failed; will retry',
        );
        waitMs = Math.min(this.options.pollIntervalMs, 5000);
      }
      if (!this.running) break;
      if (waitMs > 0) await this.sleep(waitMs);
    }
  }

  /** Read one page and stage it with its position. `more`: read again at once. */
  async pollOnce(): Promise<{ more: boolean; waitMs: number }> {
    const state = await this.beginReplay(await this.readState());
    if (await this.inboxFull(state)) {
      this.caughtUp = false;
      return { more: false, waitMs: Math.min(inboxWaitMs, this.options.pollIntervalMs) };
    }
    const cursor: EmailEventCursor =
      state.position !== null
        ? { position: state.position }
        : { start: state.fromOldest ? 'oldest' : this.options.start };
    const page = await this.options.source.readPage(cursor, {
      ...(this.options.limit === undefined ? {} : { limit: this.options.limit }),
      signal: this.abort.signal,
    });
    const now = this.options.clock.now();
    switch (page.kind) {
      case 'events':
        await this.stageEvents(state, page, now);
        this.caughtUp = false;
        return { more: true, waitMs: 0 };
      case 'empty': {
        const next: EmailJournalState = {
          ...state,
          position: page.position ?? state.position,
          readAt: now,
          caughtUpAt: now,
          ...(state.replay ? { replay: null, lastReplayStartedAt: state.replay.startedAt } : {}),
        };
        await this.commit([], next);
        if (state.replay) await this.endReplay(state.replay);
        this.caughtUp = true;
        return { more: false, waitMs: Math.max(1, page.retryAfterMs || this.options.pollIntervalMs) };
      }
      case 'expired':
        await this.expired(state, page, now);
        return { more: true, waitMs: 0 };
    }
  }

  /**
   * The flow's inbox holds {@link EmailEventPollerOptions.inboxLimit} queued events and the read is
   * recent enough to let the rest wait in the journal ({@link inboxHoldMaxAgeMs}).
   */
  private async inboxFull(state: EmailJournalState): Promise<boolean> {
    const limit = this.options.inboxLimit ?? 5000;
    if (limit <= 0 || state.newestEventAt === null) return false;
    if (this.options.clock.now() - state.newestEventAt > inboxHoldMaxAgeMs) return false;
    // Room counted before and not filled since: no need to count again (each count walks up to
    // `limit` queued items).
    if (this.inboxRoom > 0) return false;
    const queued = await this.options.store.queue.countPending({
      flow: this.flowId,
      lane: this.options.lane ?? 'bulk',
      atMost: limit,
    });
    this.inboxRoom = limit - queued;
    return queued >= limit;
  }

  /**
   * A replay request not begun yet: rewind to the oldest retained event, remembering where the read
   * was (`until`); one already ended (a crash after its last commit): drop the request.
   */
  private async beginReplay(state: EmailJournalState): Promise<EmailJournalState> {
    const request = await this.readReplayRequest();
    if (request === null || state.replay?.startedAt === request.startedAt) return state;
    if (state.replay === null && state.lastReplayStartedAt === request.startedAt) {
      await this.options.store.checkpoints.delete(emailReplayRequestCheckpoint.name(this.flowId));
      return state;
    }
    const next: EmailJournalState = {
      ...state,
      position: null,
      fromOldest: true,
      replay: {
        since: request.since,
        until: state.position,
        startedAt: request.startedAt,
        read: 0,
        staged: 0,
        before: 0,
      },
    };
    await this.commit([], next);
    this.options.logger.info(
      { flow: this.flowId, since: formatIso(request.since) },
      'e-mail event replay begun: reading the journal again from its oldest retained event',
    );
    return next;
  }

  private async endReplay(replay: NonNullable<EmailJournalState['replay']>): Promise<void> {
    await this.options.store.checkpoints.delete(emailReplayRequestCheckpoint.name(this.flowId));
    this.options.logger.info(
      { flow: this.flowId, read: replay.read, staged: replay.staged, before: replay.before },
      'e-mail event replay read complete',
    );
    this.options.events.emit('read.ended', {
      flow: this.flowId,
      kind: 'replay',
      rows: replay.read,
      total: replay.read,
      startedAt: replay.startedAt,
      done: true,
    });
  }

  private async stageEvents(
    state: EmailJournalState,
    page: Extract<EmailEventPage, { kind: 'events' }>,
    now: number,
  ): Promise<void> {
    const lane = this.options.lane ?? 'bulk';
    const skipped = { ...state.counts.skipped };
    const items: WorkItemInput[] = [];
    let newest = state.newestEventAt;
    let read = 0;
    let staged = 0;
    // A replay re-reads what was read before its `until` position: counted as the replay's.
    const replay = state.replay ? { ...state.replay } : null;
    let replaying = replay !== null;
    const until = replay?.until ?? null;
    const untilIn = (position: string | undefined): boolean => until !== null && position === until;
    for (const event of page.events) {
      if (replaying && replay) {
        replay.read++;
        const at = Date.parse(event.occurredAt);
        if (!Number.isNaN(at) && at < replay.since) {
          replay.before++;
          if (untilIn(event.position)) replaying = false;
          continue;
        }
      } else {
        read++;
      }
      const reason = filterReasonOf(this.options.settings, event);
      if (reason !== null) {
        if (!replaying) skipped[reason] = (skipped[reason] ?? 0) + 1;
      } else {
        items.push({ flow: this.flowId, recordKey: event.eventId, payload: emailEventPayload(event), lane });
        if (replaying && replay) replay.staged++;
        else staged++;
        const at = Date.parse(event.occurredAt);
        if (!Number.isNaN(at) && (newest === null || at > newest)) newest = at;
      }
      if (replaying && untilIn(event.position)) replaying = false;
    }
    for (const entry of page.unreadable) {
      if (replaying && replay) {
        replay.read++;
        if (untilIn(entry.position)) replaying = false;
        continue;
      }
      read++;
      skipped.unreadable = (skipped.unreadable ?? 0) + 1;
    }
    if (page.unreadable.length > 0)
      for (const entry of page.unreadable.slice(0, 10))
        this.options.logger.warn(
          { flow: this.flowId, position: entry.position, eventId: entry.eventId, reason: entry.reason },
          'a journal entry is not a readable e-mail event: skipped',
        );
    // The replay's read is over once it passed the position it began at.
    const ended = replay !== null && !replaying;
    const next: EmailJournalState = {
      ...state,
      position: page.position,
      readAt: now,
      newestEventAt: newest,
      counts: {
        ...state.counts,
        read: state.counts.read + read,
        staged: state.counts.staged + staged,
        skipped,
      },
      replay: ended ? null : replay,
      ...(ended && replay ? { lastReplayStartedAt: replay.startedAt } : {}),
    };
    await this.commit(items, next);
    this.inboxRoom -= items.length;
    if (items.length > 0)
      this.options.events.emit('item.staged', { flow: this.flowId, count: items.length, lane });
    if (ended && replay) await this.endReplay(replay);
    else if (replay)
      this.options.events.emit('read.progressed', {
        flow: this.flowId,
        kind: 'replay',
        rows: replay.read,
        total: null,
        startedAt: replay.startedAt,
        done: false,
      });
  }

  private async expired(
    state: EmailJournalState,
    page: Extract<EmailEventPage, { kind: 'expired' }>,
    now: number,
  ): Promise<void> {
    const lost = page.lostEvents === null ? 'an unknown number of events' : `${page.lostEvents} events`;
    const message = `Flow ${this.flowId}: the journal position ${page.position || '(start)'} of ${this.options.source.name} expired (events are kept 7 days); ${lost} between it and the oldest retained event were never read and will not reach Dynamics. Reading continues at the oldest retained event. Was the sync stopped or its flow paused for that long? ${page.message}`;
    this.options.logger.error(
      { flow: this.flowId, position: page.position, lostEvents: page.lostEvents },
      'e-mail event journal position expired: events lost',
    );
    // The alert first: if the commit below fails, the next read meets the expiry again (and alerts again).
    await this.options.alerts.raise({
      kind: 'flow-failed',
      severity: 'critical',
      subject: this.flowId,
      message,
      at: now,
    });
    await this.commit([], {
      ...state,
      position: null,
      fromOldest: true,
      readAt: now,
      counts: {
        ...state.counts,
        expiries: state.counts.expiries + 1,
        lostKnown: state.counts.lostKnown + (page.lostEvents ?? 0),
      },
      lastExpiry: { at: now, position: page.position, lostEvents: page.lostEvents, message },
    });
  }

  /** Stage `items` and write the state in one transaction, fenced by the duty. */
  private async commit(items: readonly WorkItemInput[], next: EmailJournalState): Promise<void> {
    const fence = this.options.duty.fence;
    if (!fence)
      throw new SyncError('STORE_LOCK_LOST', `duty ${this.options.duty.name} is not held by this worker`);
    await this.options.store.queue.enqueue(
      items,
      checkpointWrite(emailJournalCheckpoint, this.flowId, next),
      fence,
    );
  }
}

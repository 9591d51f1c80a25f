import { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import { SyncError } from '../../core/errors.js';
import type { AlertSink } from '../../core/ports/alert-sink.js';
import type {
  EmailEventCursor,
  EmailEventPage,
  EmailEventSource,
} from '../../core/ports/email-event-source.js';
import type { EngineLogger } from '../../core/ports/engine-logger.js';
import type { StateStore, WorkItemInput, WorkLane } from '../../core/ports/state-store.js';
import { checkpointWrite, defineCheckpoint, readCheckpoint } from '../checkpoints.js';
import type { Duty } from '../duty.js';
import type { EngineEvents } from '../engine-events.js';
import type { FlowControl } from '../flow-control.js';
import type { SourceService } from '../sync-engine.js';
import { WakeableSleep } from '../wakeable-sleep.js';
import {
  emailEventPayload,
  emailEventsFlowId,
  filterReasonOf,
  type EmailEventSettings,
} from './email-event-settings.js';

const counter = z.number().int().nonnegative();

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
    lastExpiry: null,
  }),
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

  /** Caught up, paused, or the duty is another worker's (nothing to read here). */
  isIdle(): boolean {
    if (!this.attempted) return false;
    return !this.options.duty.held || this.caughtUp || this.isPaused();
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
    const state = await this.readState();
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
        };
        await this.commit([], next);
        this.caughtUp = true;
        return { more: false, waitMs: Math.max(1, page.retryAfterMs || this.options.pollIntervalMs) };
      }
      case 'expired':
        await this.expired(state, page, now);
        return { more: true, waitMs: 0 };
    }
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
    for (const event of page.events) {
      const reason = filterReasonOf(this.options.settings, event);
      if (reason !== null) {
        skipped[reason] = (skipped[reason] ?? 0) + 1;
        continue;
      }
      items.push({ flow: this.flowId, recordKey: event.eventId, payload: emailEventPayload(event), lane });
      const at = Date.parse(event.occurredAt);
      if (!Number.isNaN(at) && (newest === null || at > newest)) newest = at;
    }
    if (page.unreadable.length > 0) {
      skipped.unreadable = (skipped.unreadable ?? 0) + page.unreadable.length;
      for (const entry of page.unreadable.slice(0, 10))
        this.options.logger.warn(
          { flow: this.flowId, position: entry.position, eventId: entry.eventId, reason: entry.reason },
          'a journal entry is not a readable e-mail event: skipped',
        );
    }
    const next: EmailJournalState = {
      ...state,
      position: page.position,
      readAt: now,
      newestEventAt: newest,
      counts: {
        ...state.counts,
        read: state.counts.read + page.events.length + page.unreadable.length,
        staged: state.counts.staged + items.length,
        skipped,
      },
    };
    await this.commit(items, next);
    if (items.length > 0)
      this.options.events.emit('item.staged', { flow: this.flowId, count: items.length, lane });
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

import type { Clock } from '../../core/clock.js';
import {
  emailEventTypes,
  type EmailEventCursor,
  type EmailEventSource,
  type EmailEventType,
} from '../../core/ports/email-event-source.js';
import type { RecordGuard } from '../../core/ports/record-guard.js';
import type { StateStore } from '../../core/ports/state-store.js';
import { readCheckpoint } from '../checkpoints.js';
import { contactOfEvent } from './email-event-applier.js';
import { emailJournalCheckpoint } from './email-event-poller.js';
import { emailEventsFlowId, filterReasonOf, type EmailEventSettings } from './email-event-settings.js';

/** What `dcsync plan` says of an e-mail event flow (F6): the journal past its position, counted. Ids only. */
export interface EmailEventPlan {
  flow: string;
  /** The journal read (no secrets). */
  source: string;
  /** Where the count starts: the stored position, the oldest retained event, or nothing (`latest`: only new events). */
  from: 'position' | 'oldest' | 'latest';
  /** Events in the journal past that point (read, not staged: the plan writes nothing). */
  events: number;
  /** Activities a sync would write now, per type (enabled types, contacts the sync owns). */
  wouldWrite: Record<EmailEventType, number>;
  /** Events that would not be written, by reason: `type-<type>-disabled`, `soft-bounce`, `unreadable`, `foreign` (no contact synced), `tombstoned`. */
  skipped: Record<string, number>;
  /** Events of contacts under a privacy request: held until it ends (then tombstoned or written). */
  held: number;
  /** Events staged before and still in the inbox (written by the next run, not counted above). */
  queued: number;
  /** The stored position had expired: events between it and the oldest retained one are lost. */
  expired: boolean;
  /** The count stopped at `maxEvents`: there are more. */
  truncated: boolean;
}

export interface EmailEventPlanOptions {
  source: EmailEventSource;
  store: StateStore;
  settings: EmailEventSettings;
  guard: RecordGuard;
  clock: Clock;
  /** Where a first read starts (`flows.emailEvents.journal.start`). */
  start: 'oldest' | 'latest';
  /** Events per read. */
  limit?: number | undefined;
  /** Stop counting after this many events. @default 1_000_000 */
  maxEvents?: number | undefined;
  flowId?: string | undefined;
  onProgress?: (events: number) => void;
}

type Verdict = 'write' | 'foreign' | 'tombstoned' | 'held';

/**
 * Dry run of flow F6: read the journal from the stored position (or where a first read would
 * start) to its end WITHOUT storing anything, and count what a sync would write — per type — and
 * what it would skip and why: a type switched off, a soft bounce, an unreadable entry, a profile the
 * sync does not own (foreign), a privacy-deleted contact; and what waits for a privacy request.
 * Contacts deleted in Dynamics are not looked up (they are counted `absent` when written).
 */
export async function planEmailEvents(options: EmailEventPlanOptions): Promise<EmailEventPlan> {
  const flowId = options.flowId ?? emailEventsFlowId;
  const { store, settings, clock } = options;
  const state = await readCheckpoint(store.checkpoints, emailJournalCheckpoint, flowId, clock.now());
  const queued = (await store.queue.backlog())
    .filter((b) => b.flow === flowId)
    .reduce((n, b) => n + b.queued + b.leased, 0);
  const plan: EmailEventPlan = {
    flow: flowId,
    source: options.source.name,
    from: state.position !== null ? 'position' : state.fromOldest ? 'oldest' : options.start,
    events: 0,
    wouldWrite: Object.fromEntries(emailEventTypes.map((t) => [t, 0])) as Record<EmailEventType, number>,
    skipped: {},
    held: 0,
    queued,
    expired: false,
    truncated: false,
  };
  if (plan.from === 'latest') return plan;
  const maxEvents = options.maxEvents ?? 1_000_000;
  const verdicts = new Map<string, Verdict>();
  const skip = (reason: string): void => {
    plan.skipped[reason] = (plan.skipped[reason] ?? 0) + 1;
  };
  const verdictOf = async (profile: { pkey: string; externalId: string | null }): Promise<Verdict> => {
    const known = verdicts.get(profile.pkey);
    if (known) return known;
    const contactId = await contactOfEvent(store.keyMap, settings.contactsFlow, profile);
    let verdict: Verdict = 'foreign';
    if (contactId !== null) {
      const guard = await options.guard.check(settings.contactsFlow, contactId);
      verdict = guard === 'hold' ? 'held' : guard === 'tombstone' ? 'tombstoned' : 'write';
    }
    verdicts.set(profile.pkey, verdict);
    return verdict;
  };
  let cursor: EmailEventCursor = state.position !== null ? { position: state.position } : { start: 'oldest' };
  for (;;) {
    const page = await options.source.readPage(cursor, {
      ...(options.limit === undefined ? {} : { limit: options.limit }),
    });
    if (page.kind === 'empty') break;
    if (page.kind === 'expired') {
      if (plan.expired) break;
      plan.expired = true;
      cursor = { start: 'oldest' };
      continue;
    }
    for (const event of page.events) {
      plan.events++;
      const reason = filterReasonOf(settings, event);
      if (reason !== null) {
        skip(reason);
        continue;
      }
      const verdict = await verdictOf(event.profile);
      if (verdict === 'write') plan.wouldWrite[event.type]++;
      else if (verdict === 'held') plan.held++;
      else skip(verdict);
    }
    for (let i = 0; i < page.unreadable.length; i++) {
      plan.events++;
      skip('unreadable');
    }
    options.onProgress?.(plan.events);
    if (plan.events >= maxEvents) {
      plan.truncated = true;
      break;
    }
    cursor = { position: page.position };
  }
  return plan;
}
